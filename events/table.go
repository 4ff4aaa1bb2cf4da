// Package events holds the sample Lambda events of every front (the JSON
// files of this directory) and reads their documented answers from the
// table in README.md, so that the tests which replay the events (through
// the handler and through the real bootstrap binary) check them against
// the same documentation a user reads.
package events

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Documented is one row of README.md's table: what answering one event
// file must produce. Empty cells ("—") are "".
type Documented struct {
	File, Front string
	// HTTP is the documented status code; "" for a direct invocation.
	HTTP string
	// Answer is "<kind> <apiVersion>" of a TokenReview, or "Status".
	Answer                                              string
	Authenticated, Username, Groups, Audiences, Message string
}

// HTTPStatus is HTTP as a number, 0 for a direct invocation.
func (d Documented) HTTPStatus() int {
	n, _ := strconv.Atoi(d.HTTP) // Table checked it
	return n
}

// Table reads the documented answers from dir/README.md, in table order.
func Table(dir string) ([]Documented, error) {
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		return nil, err
	}
	var rows []Documented
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 9 {
			return nil, fmt.Errorf("README.md: table row with %d cells: %s", len(cells), line)
		}
		for i, c := range cells {
			c = strings.TrimSpace(c)
			if c == "—" {
				c = ""
			}
			cells[i] = strings.TrimSuffix(strings.TrimPrefix(c, "`"), "`")
		}
		d := Documented{File: cells[0], Front: cells[1], HTTP: cells[2], Answer: cells[3], Authenticated: cells[4],
			Username: cells[5], Groups: cells[6], Audiences: cells[7], Message: cells[8]}
		if _, err := strconv.Atoi(d.HTTP); d.HTTP != "" && err != nil {
			return nil, fmt.Errorf("README.md: row %s: HTTP %q is not a status code", d.File, d.HTTP)
		}
		rows = append(rows, d)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("README.md: no table rows")
	}
	return rows, nil
}
