package sdnotify_test

import (
	"fmt"

	"sentinel/internal/sdnotify"
)

func ExampleNew() {
	// main passes os.Getenv("NOTIFY_SOCKET"); outside systemd it is empty
	// and the notifier does nothing.
	n := sdnotify.New("")
	fmt.Println(n.Enabled(), n.Notify(sdnotify.Ready))
	// Output: false <nil>
}
