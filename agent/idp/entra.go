package idp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// entraGuest is the userType of an account from another organisation.
const entraGuest = "Guest"

// entraStatus is the raw status of an Entra account: its accountEnabled
// value as written, and its userType when that is Guest.
func entraStatus(enabled, userType string) string {
	s := "accountEnabled=" + enabled
	if strings.EqualFold(userType, entraGuest) {
		s += "; userType=" + entraGuest
	}
	return s
}

// entraRecord makes the record of one Entra account. Its primary address
// is mail, or userPrincipalName for an account without a mailbox; the
// userPrincipalName, the smtp: entries of proxyAddresses and otherMails
// are its aliases.
func entraRecord(mail, upn string, proxy, other []string, name string, enabled bool, enabledRaw, userType, where string) record {
	addrs := []string{mail, upn}
	addrs = append(addrs, smtpAddresses(proxy)...)
	addrs = append(addrs, other...)
	return record{
		addresses: addrs,
		name:      name,
		status:    entraStatus(enabledRaw, userType),
		active:    enabled,
		guest:     strings.EqualFold(userType, entraGuest),
		where:     where,
	}
}

// smtpAddresses returns the addresses of proxyAddresses entries with an
// smtp: prefix in any case ("SMTP:" marks the primary, "smtp:" the
// others), without the prefix. Other kinds (x500:, sip:, spo:, eum:) are
// not mail addresses and are left out.
func smtpAddresses(proxy []string) []string {
	var out []string
	for _, p := range proxy {
		p = strings.TrimSpace(p)
		if len(p) > 5 && strings.EqualFold(p[:5], "smtp:") {
			out = append(out, p[5:])
		}
	}
	return out
}

// parseEntraCSV reads Entra's "Download users" CSV.
func parseEntraCSV(b *builder, t *table) error {
	upnCol := t.col("userprincipalname")
	mailCol := t.col("mail")
	if upnCol < 0 && mailCol < 0 {
		return fmt.Errorf("no email column: want userPrincipalName or mail, found %s", t.columnsFound())
	}
	enabledCol := t.col("accountenabled")
	if enabledCol < 0 {
		return fmt.Errorf("no accountEnabled column, found %s", t.columnsFound())
	}
	nameCol := t.col("displayname", "name")
	typeCol := t.col("usertype")
	proxyCol := t.col("proxyaddresses")
	otherCol := t.col("othermails")
	for i, row := range t.rows {
		where := fmt.Sprintf("line %d", t.lines[i])
		raw := cell(row, enabledCol)
		enabled, err := parseEntraBool(raw)
		if err != nil {
			return fmt.Errorf("%s: accountEnabled: %w", where, err)
		}
		r := entraRecord(cell(row, mailCol), cell(row, upnCol), splitList(cell(row, proxyCol)), splitList(cell(row, otherCol)),
			cell(row, nameCol), enabled, raw, cell(row, typeCol), where)
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}

// parseEntraBool reads accountEnabled as the CSV writes it: True or
// False, in any case.
func parseEntraBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is neither True nor False", s)
}

// graphUser is a user as Graph's GET /v1.0/users returns it, with the
// properties this package selects.
type graphUser struct {
	ID                string   `json:"id"`
	DisplayName       string   `json:"displayName"`
	Mail              string   `json:"mail"`
	UserPrincipalName string   `json:"userPrincipalName"`
	AccountEnabled    *bool    `json:"accountEnabled"`
	OtherMails        []string `json:"otherMails"`
	ProxyAddresses    []string `json:"proxyAddresses"`
	UserType          string   `json:"userType"`
}

// graphPage is one page of Graph's user list.
type graphPage struct {
	Value    *[]graphUser `json:"value"`
	NextLink string       `json:"@odata.nextLink"`
}

// graphSelect lists the properties requested from Graph.
const graphSelect = "id,displayName,mail,userPrincipalName,accountEnabled,otherMails,proxyAddresses,userType"

// addGraphUsers adds Graph users to b; offset is the number of users
// before them, for messages.
func addGraphUsers(b *builder, users []graphUser, offset int) error {
	for i, u := range users {
		where := fmt.Sprintf("user %d", offset+i+1)
		if u.ID != "" {
			where = fmt.Sprintf("user %s", u.ID)
		}
		if u.AccountEnabled == nil {
			return fmt.Errorf("%s (%s) has no accountEnabled: select it with $select=%s", where, strconv.Quote(u.UserPrincipalName), graphSelect)
		}
		enabled := *u.AccountEnabled
		r := entraRecord(u.Mail, u.UserPrincipalName, u.ProxyAddresses, u.OtherMails, u.DisplayName,
			enabled, strconv.FormatBool(enabled), u.UserType, where)
		if err := b.add(r); err != nil {
			return err
		}
	}
	return nil
}

// errMorePages means a saved Graph page says that more pages follow.
var errMorePages = errors.New("the file is one page of several (it has an @odata.nextLink): save every page, or read the directory live")

// parseGraphJSON reads the JSON of Graph's GET /v1.0/users: one page
// ({"value":[...]}) holding every user, or a bare array of users.
func parseGraphJSON(b *builder, data []byte) error {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte(utf8BOM)))
	var users []graphUser
	if bytes.HasPrefix(data, []byte("[")) {
		if err := json.Unmarshal(data, &users); err != nil {
			return fmt.Errorf("not Graph users JSON: %w", err)
		}
	} else {
		var page graphPage
		if err := json.Unmarshal(data, &page); err != nil {
			return fmt.Errorf("not Graph users JSON: %w", err)
		}
		if page.Value == nil {
			return errors.New(`not Graph users JSON: no "value" array`)
		}
		if page.NextLink != "" {
			return fmt.Errorf("%w: %w", ErrIncomplete, errMorePages)
		}
		users = *page.Value
	}
	return addGraphUsers(b, users, 0)
}
