#pragma once

// Waiting for the request to stop a server process: Ctrl-C or a service manager's SIGTERM.

namespace netcore::app {

/// Blocks the calling thread until the process receives SIGINT or SIGTERM, and returns that
/// signal's number (-1 when the pipe it waits on could not be made, errno telling why). While it
/// waits those signals do not end the process, on whichever thread they land; the previous
/// handlers are back when it returns. One waiter at a time: a second concurrent call returns -1
/// (errno EBUSY).
int wait_for_stop_signal();

}  // namespace netcore::app
