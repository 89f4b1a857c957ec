package scim

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/clay-agent/clay-agent/agent/roster"
)

// user returns the user whose id is id, or nil.
func (s *store) user(id string) (*userRecord, error) {
	var rec *userRecord
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		rec, err = getUser(tx, id)
		return err
	})
	return rec, err
}

// users returns every user.
func (s *store) users() ([]*userRecord, error) {
	var users []*userRecord
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		users, err = allUsers(tx)
		return err
	})
	return users, err
}

// replaceRoster brings the users in line with the roster r (see
// rosterChanges) and records now as the roster's time, in one
// transaction.
func (s *store) replaceRoster(r *roster.Roster, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		users, err := allUsers(tx)
		if err != nil {
			return err
		}
		for _, c := range rosterChanges(users, r) {
			if err := putUser(tx, c.old, c.next, now); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaRosterAt, []byte(now.UTC().Format(time.RFC3339Nano)))
	})
}
