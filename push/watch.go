package push

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Watcher is a store that streams events as other instances append them
// (MongoDB change streams, on a replica set or sharded cluster).
type Watcher interface {
	// Watch calls ready once the stream is open, then fn for every event
	// appended from then on, until ctx ends or the stream fails. An error
	// before ready means the server has no change streams.
	Watch(ctx context.Context, ready func(), fn func(UserEvent)) error
}

// Watch implements Watcher with a change stream of inserts into the
// events collection.
func (s *MongoStore) Watch(ctx context.Context, ready func(), fn func(UserEvent)) error {
	cs, err := s.events.Watch(ctx, mongo.Pipeline{{{Key: "$match", Value: bson.D{{Key: "operationType", Value: "insert"}}}}})
	if err != nil {
		return fmt.Errorf("push: watch events: %w", err)
	}
	defer cs.Close(context.Background())
	ready()
	for cs.Next(ctx) {
		var ch struct {
			Doc eventDoc `bson:"fullDocument"`
		}
		if err := cs.Decode(&ch); err != nil {
			return fmt.Errorf("push: watch events: %w", err)
		}
		fn(UserEvent{User: ch.Doc.User, Event: ch.Doc.event()})
	}
	return cs.Err()
}

// follow delivers events written by other instances to this instance's
// subscribers: from the store's change stream where the server has one,
// otherwise by polling the inbox. Each time a stream opens, one poll pass
// covers what was written while it was down; a stream that breaks is
// reopened.
func (s *Service) follow(ctx context.Context) {
	w, ok := s.store.(Watcher)
	if !ok {
		s.poll(ctx)
		return
	}
	for ctx.Err() == nil {
		opened := false
		err := w.Watch(ctx, func() { opened = true; s.pollOnce(ctx) }, func(ue UserEvent) {
			if s.hub.has(ue.User) {
				s.hub.deliver(ue.User, ue.Event)
			}
		})
		if ctx.Err() != nil {
			return
		}
		if !opened {
			s.log.Info("push: no change streams on this server; polling the inbox", "every", s.opts.PollInterval.String(), "err", err)
			s.poll(ctx)
			return
		}
		s.log.Warn("push: change stream ended; reopening", "err", err)
		if sleepCtx(ctx, time.Second) != nil {
			return
		}
	}
}
