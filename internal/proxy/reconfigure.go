package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/elbow-lb/elbow/internal/config"
)

// ListenerChange says what Reconfigure did to one listener.
type ListenerChange struct {
	Listener *Listener
	Added    bool // false: removed
}

// Reconfigure makes the running listeners those cfg describes. Listeners that
// are unchanged keep serving with cfg's rules (swapped atomically); new ones
// are built, bound and served; removed ones stop accepting and finish their
// requests in flight (bounded by ctx). Everything new is compiled and bound
// before anything changes, so on an error the running listeners are as they
// were. A new listener on the address of a removed one is bound after that
// one has closed; if that bind fails, the error says so.
func (p *Proxy) Reconfigure(ctx context.Context, cfg *config.Config, groups Groups) ([]ListenerChange, error) {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	running := map[string]*Listener{}
	for _, l := range p.listeners {
		running[l.key] = l
	}
	next := make([]*Listener, len(cfg.Listeners))
	tables := make([]*table, len(cfg.Listeners))
	kept := map[*Listener]bool{}
	var fresh []*Listener // built, bound later
	for i, cl := range cfg.Listeners {
		if l := running[listenerKey(cl)]; l != nil && !kept[l] {
			t, err := l.compile(cl, groups)
			if err != nil {
				return nil, fmt.Errorf("listener %d (%s): %w", i, l.Addr(), err)
			}
			next[i], tables[i], kept[l] = l, t, true
			continue
		}
		l, err := p.NewListener(cl, groups)
		if err != nil {
			return nil, fmt.Errorf("listener %d (%s:%d): %w", i, cl.Address, cl.Port, err)
		}
		next[i] = l
		fresh = append(fresh, l)
	}
	var removed []*Listener
	busy := map[string]bool{} // addresses a removed listener still holds
	for _, l := range p.listeners {
		if !kept[l] {
			removed = append(removed, l)
			busy[net.JoinHostPort(l.address, l.port)] = true
		}
	}
	// Bind what does not wait for a removed listener; undo on failure.
	var bound, later []*Listener
	for _, l := range fresh {
		if busy[net.JoinHostPort(l.address, l.port)] {
			later = append(later, l)
			continue
		}
		if err := l.bind(); err != nil {
			for _, b := range bound {
				_ = b.ln.Close()
			}
			return nil, err
		}
		bound = append(bound, l)
	}

	// Commit: swap the kept listeners' rules, serve the new, stop the removed.
	for i, l := range next {
		if tables[i] != nil {
			l.table.Store(tables[i])
		}
	}
	var changes []ListenerChange
	for _, l := range bound {
		go l.run()
		changes = append(changes, ListenerChange{Listener: l, Added: true})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(removed))
	for i, l := range removed {
		wg.Go(func() { errs[i] = l.shutdown(ctx) })
		changes = append(changes, ListenerChange{Listener: l, Added: false})
	}
	wg.Wait()
	for _, l := range later {
		if err := l.bind(); err != nil {
			errs = append(errs, err)
			next = deleteListener(next, l)
			continue
		}
		go l.run()
		changes = append(changes, ListenerChange{Listener: l, Added: true})
	}
	p.listeners = next
	return changes, errors.Join(errs...)
}

func deleteListener(ls []*Listener, l *Listener) []*Listener {
	out := ls[:0:0]
	for _, x := range ls {
		if x != l {
			out = append(out, x)
		}
	}
	return out
}
