package main

import "net/http"

// displayHandler returns the guard display's handler, or nil while there
// is none.
func (d *daemon) displayHandler() http.Handler {
	return nil
}
