//go:build !linux

package rawio

import "syscall"

// op is empty: Read and Write go through the net.Conn.
type op struct{}

func (c *Conn) init() {}

func (c *Conn) Read(p []byte) (int, error) { return c.nc.Read(p) }

func (c *Conn) Write(p []byte) (int, error) { return c.netWrite(p) }

func (c *Conn) peek() (uintptr, syscall.Errno, error) { return c.peekRecvfrom() }

// peerFinished: no portable way to see a FIN behind unread data.
func (c *Conn) peerFinished() bool { return false }
