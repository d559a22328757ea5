package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"courierd/domain"
)

// CSV is the clerks' and dispatchers' spreadsheet form of the lists they work from, and the
// batch intake of agencies without software of their own. Columns are the JSON answer's
// fields flattened: nested objects join their names with "_" (applicant.name is
// applicant_name), arrays are one cell holding their JSON.
const (
	mimeCSV = "text/csv"
	// utf8BOM leads every export: without it Excel reads the file in the machine's code page
	// and garbles Vietnamese.
	utf8BOM = "\uFEFF"
	// csvPageWindow is how long one page of an export may take to write. The server's write
	// deadline is set once per response; a long export moves it on with each page.
	csvPageWindow = time.Minute
)

// wantsCSV reports whether the caller asks for CSV (Accept: text/csv) rather than JSON,
// the default; the answer says it depends on Accept.
func wantsCSV(c *fiber.Ctx) bool {
	c.Vary(fiber.HeaderAccept)
	return c.Accepts(fiber.MIMEApplicationJSON, mimeCSV) == mimeCSV
}

// answerList answers one page of a list as JSON, or, when the caller asks for CSV, every
// row of it: fetched page after page of domain.MaxPageLimit by the list's cursor, as the
// file is written, so that a province's year takes no more memory than a page. fetch
// carries the caller's filter and is called with the caller's context.
func answerList[T, D any](c *fiber.Ctx, file string, page domain.Page,
	fetch func(context.Context, domain.Page) (domain.List[T], error), toDTO func(T) D) error {
	if !wantsCSV(c) {
		list, err := fetch(c.UserContext(), page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, toDTO))
	}
	return streamCSV(c, file, func(ctx context.Context, cursor string) ([]D, string, error) {
		list, err := fetch(ctx, domain.Page{Limit: domain.MaxPageLimit, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		return listOf(list, domain.Page{}, toDTO).Items, list.NextCursor, nil
	})
}

// answerRows answers rows, a report's lines computed whole, as CSV when the caller asks for
// it; otherwise as asJSON.
func answerRows[D any](c *fiber.Ctx, file string, rows []D, asJSON func() error) error {
	if !wantsCSV(c) {
		return asJSON()
	}
	return streamCSV(c, file, func(context.Context, string) ([]D, string, error) { return rows, "", nil })
}

// streamCSV writes the rows next gives, from cursor "" until it answers no cursor. The first
// page is read before the answer starts, so that a refusal (NOT_FOUND for another office's
// list, a bad filter) is a problem answer like JSON's. The rest is read while writing, after
// the handler has returned: next gets the request's context, principal included, taken now.
// A page that fails then cannot change the status any more: the connection is closed before
// the file's end, so that the client sees a broken download rather than a short file.
func streamCSV[D any](c *fiber.Ctx, file string, next func(context.Context, string) ([]D, string, error)) error {
	ctx := c.UserContext()
	rows, cursor, err := next(ctx, "")
	if err != nil {
		return err
	}
	columns := csvColumnsOf(reflect.TypeFor[D]())
	c.Set(fiber.HeaderContentType, mimeCSV+"; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+file+`"`)
	conn := c.Context().Conn()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		out := csv.NewWriter(w)
		_, _ = w.WriteString(utf8BOM)
		record := make([]string, len(columns))
		for i, col := range columns {
			record[i] = col.name
		}
		_ = out.Write(record)
		for {
			for _, row := range rows {
				v := reflect.ValueOf(row)
				for i, col := range columns {
					record[i] = col.cell(v)
				}
				_ = out.Write(record)
			}
			out.Flush()
			if conn.SetWriteDeadline(time.Now().Add(csvPageWindow)) != nil || out.Error() != nil || w.Flush() != nil || cursor == "" {
				return
			}
			if rows, cursor, err = next(ctx, cursor); err != nil {
				_ = conn.Close()
				return
			}
		}
	})
	return nil
}

// csvColumn is one column of a flattened struct: its header, the JSON path of its field
// (for problems) and where the field lies.
type csvColumn struct {
	name, path string
	index      []int
}

var csvLayouts sync.Map // reflect.Type → []csvColumn

// csvColumnsOf flattens t's JSON fields into columns, in the struct's order; a field tagged
// csv:"-" is left out.
func csvColumnsOf(t reflect.Type) []csvColumn {
	if cols, ok := csvLayouts.Load(t); ok {
		return cols.([]csvColumn)
	}
	cols := flatten(t, nil, "", "")
	csvLayouts.Store(t, cols)
	return cols
}

var timeType = reflect.TypeFor[time.Time]()

func flatten(t reflect.Type, index []int, name, path string) []csvColumn {
	var cols []csvColumn
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		// An embedded struct's type may be unexported; its fields are read all the same.
		if (!f.IsExported() && !f.Anonymous) || tag == "-" || f.Tag.Get("csv") == "-" {
			continue
		}
		at := append(append([]int{}, index...), i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && tag == "" && ft.Kind() == reflect.Struct:
			// An embedded struct's fields are the outer one's, as in JSON.
			cols = append(cols, flatten(ft, at, name, path)...)
		case ft.Kind() == reflect.Struct && ft != timeType:
			cols = append(cols, flatten(ft, at, name+tag+"_", path+tag+".")...)
		default:
			cols = append(cols, csvColumn{name: name + tag, path: path + tag, index: at})
		}
	}
	return cols
}

// cell is the column's text in row v: empty for a nil pointer on the way or a nil value.
func (col csvColumn) cell(v reflect.Value) string {
	f, err := v.FieldByIndexErr(col.index)
	if err != nil {
		return ""
	}
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.String:
		return defuse(f.String())
	case reflect.Bool:
		return strconv.FormatBool(f.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(f.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(f.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(f.Float(), 'f', -1, 64)
	}
	if t, ok := f.Interface().(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	if (f.Kind() == reflect.Slice || f.Kind() == reflect.Map) && f.IsNil() {
		return ""
	}
	raw, _ := json.Marshal(f.Interface())
	return string(raw)
}

// formulaStarts are the first characters that make a spreadsheet read a cell as a formula
// (OWASP, CSV injection): names and addresses typed by the public could run one on a
// clerk's machine.
const formulaStarts = "=+-@\t\r"

// defuse makes text that a spreadsheet would read as a formula plain text with a leading
// apostrophe. Only text is defused: numbers the server writes are never formulas.
func defuse(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// isCSV reports whether the request's body is CSV by its Content-Type.
func isCSV(c *fiber.Ctx) bool {
	mediaType, _, _ := strings.Cut(c.Get(fiber.HeaderContentType), ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), mimeCSV)
}

// malformedCSV refuses a file whole, naming where it went wrong.
func malformedCSV(where, reason string) error {
	e := domain.Errorf(domain.CodeMalformedBody, "the CSV file is malformed: %s: %s", where, reason)
	e.Fields = []domain.FieldError{{Field: where, Reason: reason}}
	return e
}

// decodeCSV reads a CSV file into one D per data row, by the header row's column names
// (csvColumnsOf D's; columns may be left out or come in any order). The separator is ","
// or, when the header has none, ";" (what Excel writes in a Vietnamese locale); a leading
// BOM is skipped. A file that is not UTF-8, a header naming an unknown or repeated column,
// or a row with another number of cells than the header, is refused whole. A cell that does
// not read as its field's type is the row's problem, in problems[i], under the field's JSON
// path: the row is refused alone, as a JSON item would be. Reading stops after most+1 rows:
// one too many says the file is over the limit without holding all of it.
func decodeCSV[D any](body []byte, most int) (rows []D, problems []domain.Problems, err error) {
	body = bytes.TrimPrefix(body, []byte(utf8BOM))
	if bad := firstBadByte(body); bad >= 0 {
		return nil, nil, malformedCSV(fmt.Sprintf("line %d", 1+bytes.Count(body[:bad], []byte("\n"))),
			"the file is not UTF-8 text; save it as \"CSV UTF-8\"")
	}
	r := csv.NewReader(bytes.NewReader(body))
	header, _, _ := bytes.Cut(body, []byte("\n"))
	if !bytes.ContainsRune(header, ',') && bytes.ContainsRune(header, ';') {
		r.Comma = ';'
	}
	r.ReuseRecord = true
	names, err := r.Read()
	if err != nil {
		return nil, nil, csvReadError(err)
	}
	byName := map[string]csvColumn{}
	for _, col := range csvColumnsOf(reflect.TypeFor[D]()) {
		byName[col.name] = col
	}
	columns := make([]csvColumn, len(names))
	seen := map[string]bool{}
	for i, name := range names {
		name = strings.TrimSpace(name)
		col, ok := byName[name]
		where := fmt.Sprintf("line 1, column %d", i+1)
		switch {
		case !ok:
			return nil, nil, malformedCSV(where, fmt.Sprintf("%q is not a column of this file", name))
		case seen[name]:
			return nil, nil, malformedCSV(where, fmt.Sprintf("%q is named twice", name))
		}
		seen[name], columns[i] = true, col
	}
	for {
		record, err := r.Read()
		if err == io.EOF || len(rows) > most {
			return rows, problems, nil
		}
		if err != nil {
			return nil, nil, csvReadError(err)
		}
		var row D
		var p domain.Problems
		v := reflect.ValueOf(&row).Elem()
		for i, text := range record {
			columns[i].set(&p, v, r.Comma, text)
		}
		rows, problems = append(rows, row), append(problems, p)
	}
}

// csvReadError names the line and column where the reader gave up.
func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return malformedCSV(fmt.Sprintf("line %d, column %d", pe.Line, pe.Column), pe.Err.Error())
	}
	return malformedCSV("line 1", "the file has no header row")
}

// firstBadByte is the offset of the first byte that is not UTF-8 or is NUL, or -1.
func firstBadByte(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return -1
}

// set writes text into the column's field of v, allocating the pointers on the way when
// the cell holds something; an empty cell leaves the field as JSON's absent field would.
func (col csvColumn) set(p *domain.Problems, v reflect.Value, comma rune, text string) {
	if text == "" {
		return
	}
	for _, i := range col.index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		// What defuse wrote comes back as it was typed.
		if len(text) > 1 && text[0] == '\'' && strings.IndexByte(formulaStarts, text[1]) >= 0 {
			text = text[1:]
		}
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		p.Check(err == nil, col.path, "must be true or false")
		v.SetBool(b)
	case reflect.Float64:
		text = strings.TrimSpace(text)
		if comma == ';' {
			// A decimal comma, from the same locale.
			text = strings.Replace(text, ",", ".", 1)
		}
		f, err := strconv.ParseFloat(text, 64)
		p.Check(err == nil, col.path, "must be a number")
		v.SetFloat(f)
	default:
		p.Add(col.path, "cannot be given in a CSV file")
	}
}
