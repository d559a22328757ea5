package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The pages readers follow: the front door, the pages by subject, the device contract's.
var docPages = []string{"../../README.md", "../../docs/*.md", "../../mobile-contract/*.md"}

var (
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	inlineCode   = regexp.MustCompile("`[^`]*`")
)

// TestDocLinks keeps the documentation walkable: every relative link in the README and the
// pages resolves to a file, every #anchor to a heading of its page, and the README leads to
// every page in docs/.
func TestDocLinks(t *testing.T) {
	var pages []string
	for _, pattern := range docPages {
		found, err := filepath.Glob(pattern)
		if err != nil || len(found) == 0 {
			t.Fatalf("no pages match %s (%v)", pattern, err)
		}
		pages = append(pages, found...)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		anchors[page] = headingAnchors(string(text))
		return anchors[page]
	}
	linkedFromReadme := map[string]bool{}
	checked := 0
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range links(string(text)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			resolved := page
			if path != "" {
				resolved = filepath.Join(filepath.Dir(page), path)
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, target)
				continue
			}
			if page == docPages[0] {
				linkedFromReadme[filepath.Clean(resolved)] = true
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") && !anchorsOf(resolved)[anchor] {
				t.Errorf("%s links to %s: %s has no heading #%s", page, target, resolved, anchor)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d relative links found: is the link pattern still right?", checked)
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, page := range docs {
		if !linkedFromReadme[filepath.Clean(page)] {
			t.Errorf("the README does not lead to %s", page)
		}
	}
}

// links lists the targets of a page's Markdown links, leaving out code, where brackets
// and parentheses are not links.
func links(text string) []string {
	var targets []string
	for _, line := range proseLines(text) {
		for _, m := range markdownLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
			targets = append(targets, m[1])
		}
	}
	return targets
}

// headingAnchors are the anchors a page's headings get, as GitHub makes them: lower case,
// punctuation dropped, spaces as hyphens, a repeated heading numbered.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range proseLines(text) {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok {
			continue
		}
		slug := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
				return unicode.ToLower(r)
			}
			return -1
		}, strings.TrimSpace(title))
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// proseLines are a page's lines outside fenced code blocks.
func proseLines(text string) []string {
	var lines []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestNoMergeLeftovers: a merge whose conflict was marked resolved too early leaves its
// markers in a file that still builds (a page, a manifest); none may be in the tree.
func TestNoMergeLeftovers(t *testing.T) {
	marker := regexp.MustCompile(`(?m)^(<{7} |>{7} |={7}$)`)
	skip := map[string]bool{".git": true, "node_modules": true, "dist": true, "bin": true, ".pgdata": true, ".keys": true, "testdata": true}
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".sql", ".yaml", ".yml", ".json", ".sh", ".mjs", ".js", ".css", ".html", ".mod", ".service", ".conf", "":
		default:
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if loc := marker.FindIndex(raw); loc != nil {
			t.Errorf("%s:%d holds a merge conflict's marker", path, 1+strings.Count(string(raw[:loc[0]]), "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
