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

// NewKeyring takes keys by id, the id that seals new data, and the random source for
// nonces. The blind-index key is derived from the current key's id and bytes, so one
// secret per key is all an operator keeps.
func NewKeyring(keys map[string][]byte, current string, random io.Reader) (*Keyring, error) {
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
	key, ok := keys[current]
	if !ok {
		return nil, fmt.Errorf("no data key %q to seal with", current)
	}
	mac := hmac.New(sha256.New, key)
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
