// Package pii protects personal data at rest: citizen ID numbers are sealed with
// AES-256-GCM under a named key (so keys can rotate: new data is sealed with the newest,
// old data opens with the key it names), and looked up through a keyed hash (a blind
// index) that never reveals the number. It also masks numbers and phones for display.
//
// Imports allowed: the standard library only. Keys arrive as bytes; reading them from
// files is the wiring's job.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

// Keyring seals and opens personal data. The zero value is unusable; build it with
// NewKeyring.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	index   []byte
	random  io.Reader
}

// NewKeyring takes keys by id, the id that seals new data, the id whose key the blind
// index is derived from, and the random source for nonces. The index key must stay the
// same for as long as indexes written with it are looked up: rotating the sealing key
// leaves it be (see Reseal), so one secret per key is all an operator keeps.
func NewKeyring(keys map[string][]byte, current, indexKey string, random io.Reader) (*Keyring, error) {
	k := &Keyring{current: current, aeads: map[string]cipher.AEAD{}, random: random}
	for id, key := range keys {
		if len(key) != KeySize || strings.ContainsAny(id, ":") || id == "" {
			return nil, fmt.Errorf("data key %q: want %d bytes and an id without ':'", id, KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if k.aeads[id], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("no data key %q to seal with", current)
	}
	root, ok := keys[indexKey]
	if !ok {
		return nil, fmt.Errorf("no data key %q to derive the blind index from", indexKey)
	}
	mac := hmac.New(sha256.New, root)
	mac.Write([]byte("courierd blind index v1"))
	k.index = mac.Sum(nil)
	return k, nil
}

// Seal encrypts plaintext, binding it to context (a record id, say) so that a sealed
// value copied onto another record does not open. The result is "keyid:base64".
func (k *Keyring) Seal(plaintext, context string) (string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(k.random, nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return k.current + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

var errSealed = errors.New("sealed value is damaged, was sealed for another record, or its key is gone")

// Open decrypts what Seal produced with the same context.
func (k *Keyring) Open(sealed, context string) (string, error) {
	id, body, ok := strings.Cut(sealed, ":")
	aead, known := k.aeads[id]
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if !ok || !known || err != nil || len(raw) < aead.NonceSize() {
		return "", errSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}

// Reseal opens a sealed value and seals it again under the current key; sealed under the
// current key already, it is returned as it is, with resealed false. Rotating keys is:
// add the new key and make it current, reseal everything, then remove the old key (unless
// the blind index is derived from it).
func (k *Keyring) Reseal(sealed, context string) (out string, resealed bool, err error) {
	if id, _, _ := strings.Cut(sealed, ":"); id == k.current {
		return sealed, false, nil
	}
	plain, err := k.Open(sealed, context)
	if err != nil {
		return "", false, err
	}
	out, err = k.Seal(plain, context)
	return out, err == nil, err
}

// Index is the blind index of value: equal values give equal indexes, and without the key
// nobody can test a guess against it.
func (k *Keyring) Index(value string) string {
	mac := hmac.New(sha256.New, k.index)
	mac.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// NewKey makes a random data key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	_, err := io.ReadFull(rand.Reader, key)
	return key, err
}

// MaskTail keeps the last keep characters of s and stars the rest.
func MaskTail(s string, keep int) string {
	if len(s) <= keep {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-keep) + s[len(s)-keep:]
}

// MaskPhone shows a phone as 09******12: the network prefix and the last two digits.
func MaskPhone(phone string) string {
	if len(phone) < 6 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:2] + strings.Repeat("*", len(phone)-4) + phone[len(phone)-2:]
}
