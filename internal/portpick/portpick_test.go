package portpick

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestReserveHandsOutDistinctBindablePortsOutsideTheEphemeralRange: the
// kernel never assigns these ports by itself, so a child process can bind
// one after the parent has let it go.
func TestReserveHandsOutDistinctBindablePortsOutsideTheEphemeralRange(t *testing.T) {
	hi := ephemeralLow()
	seen := map[int]bool{}
	for range 200 {
		p := Test(t)
		if p.N < rangeLow || p.N >= hi {
			t.Fatalf("port %d outside [%d, %d)", p.N, rangeLow, hi)
		}
		if seen[p.N] {
			t.Fatalf("port %d handed out twice", p.N)
		}
		seen[p.N] = true
		ln, err := net.Listen("tcp", p.Addr())
		if err != nil {
			t.Fatalf("reserved port not bindable: %v", err)
		}
		ln.Close()
	}
}

// TestReleaseFreesTheLock: after Release another holder can take the
// port; Release twice is harmless.
func TestReleaseFreesTheLock(t *testing.T) {
	p, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	if unlock, ok, err := lockPort(p.N); err != nil || ok {
		if unlock != nil {
			unlock()
		}
		t.Fatalf("a second lock on a held port: ok=%v err=%v, want refused", ok, err)
	}
	p.Release()
	p.Release()
	unlock, ok, err := lockPort(p.N)
	if err != nil || !ok {
		t.Fatalf("lock after Release: ok=%v err=%v", ok, err)
	}
	unlock()
	// And once more: the lock just taken was given back too.
	unlock, ok, err = lockPort(p.N)
	if err != nil || !ok {
		t.Fatalf("lock after unlock: ok=%v err=%v", ok, err)
	}
	unlock()
}

const childEnv = "PORTPICK_TEST_CHILD"

// TestAnotherProcessCannotTakeAHeldPort runs this test binary again as a
// child that reserves a port, prints it and waits for stdin to close.
// While the child lives, this process may not lock that port; once the
// child exits (without calling Release), it may.
func TestAnotherProcessCannotTakeAHeldPort(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		p, err := Reserve()
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.N)
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestAnotherProcessCannotTakeAHeldPort$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	if unlock, ok, err := lockPort(n); err != nil || ok {
		if unlock != nil {
			unlock()
		}
		t.Fatalf("locked port %d while the child holds it: ok=%v err=%v", n, ok, err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	unlock, ok, err := lockPort(n)
	if err != nil || !ok {
		t.Fatalf("port %d still locked after the child exited: ok=%v err=%v", n, ok, err)
	}
	unlock()
}
