package api

import (
	"bytes"
	"compress/gzip"
	"html"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"

	"courierd/api/web"
	"courierd/domain"
)

// Pages are the browser pages courierd serves itself: the dispatchers' console and the
// applicants' page that messages link to (/tra-cuu?ma=<receipt code>).
const (
	ConsolePath = "/console"
	CitizenPath = "/tra-cuu"
	assetPrefix = "/assets/"
)

// asset is a built file and its precompressed copies (nil when none).
type asset struct {
	body, gzip, brotli []byte
	contentType        string
}

// pageCSP lets a page load its own scripts, styles and images, the map's tiles from their
// host when one is configured, and call the API on its own origin; nothing else.
func pageCSP(tileURL string) string {
	img := "'self' data:"
	if host := tileSource(tileURL); host != "" {
		img += " " + host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// tileSource is a tile URL's origin as a CSP source: {s} subdomains become a wildcard.
func tileSource(tileURL string) string {
	if tileURL == "" {
		return ""
	}
	u, err := url.Parse(strings.ReplaceAll(tileURL, "{s}", "tiles"))
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Host
	if strings.Contains(tileURL, "{s}.") {
		_, rest, _ := strings.Cut(host, ".")
		host = "*." + rest
	}
	return u.Scheme + "://" + host
}

// withMapConfig writes the server's map settings into a page's meta tags.
func withMapConfig(page []byte, tileURL, attribution string) []byte {
	for name, value := range map[string]string{"map-tiles": tileURL, "map-attribution": attribution} {
		empty := []byte(`<meta name="` + name + `" content="">`)
		page = bytes.Replace(page, empty, []byte(`<meta name="`+name+`" content="`+html.EscapeString(value)+`">`), 1)
	}
	return page
}

// loadAssets reads the built files into memory: a few hundred kilobytes in all.
func loadAssets(files fs.FS) map[string]asset {
	out := map[string]asset{}
	entries, _ := fs.ReadDir(files, "assets")
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".gz") || strings.HasSuffix(name, ".br") {
			continue
		}
		body, err := fs.ReadFile(files, "assets/"+name)
		if err != nil {
			continue
		}
		a := asset{body: body, contentType: mime.TypeByExtension(path.Ext(name))}
		a.gzip, _ = fs.ReadFile(files, "assets/"+name+".gz")
		a.brotli, _ = fs.ReadFile(files, "assets/"+name+".br")
		if a.contentType == "" {
			a.contentType = fiber.MIMEOctetStream
		}
		out[name] = a
	}
	return out
}

// compressed is a page with its brotli and gzip copies, made once: the page is only whole
// once the server's settings are written into it.
func compressed(body []byte, contentType string) asset {
	a := asset{body: body, contentType: contentType}
	var br, gz bytes.Buffer
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	gw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	for _, w := range []io.WriteCloser{bw, gw} {
		// Writes into memory cannot fail.
		_, _ = w.Write(body)
		_ = w.Close()
	}
	a.brotli, a.gzip = br.Bytes(), gz.Bytes()
	return a
}

// send answers a with the best encoding the client takes.
func (a asset) send(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Vary(fiber.HeaderAcceptEncoding)
	switch {
	case a.brotli != nil && c.Request().Header.HasAcceptEncoding("br"):
		c.Set(fiber.HeaderContentEncoding, "br")
		return c.Send(a.brotli)
	case a.gzip != nil && c.Request().Header.HasAcceptEncoding("gzip"):
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(a.gzip)
	}
	return c.Send(a.body)
}

func mountPages(app *fiber.App, cfg Config) {
	files := web.Files()
	assets := loadAssets(files)
	csp := pageCSP(cfg.MapTileURL)
	page := func(name string) fiber.Handler {
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			return func(*fiber.Ctx) error {
				return domain.Errorf(domain.CodeNotFound, "this server was built without its web pages: build it with make build")
			}
		}
		p := compressed(withMapConfig(raw, cfg.MapTileURL, cfg.MapAttribution), fiber.MIMETextHTMLCharsetUTF8)
		return func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentSecurityPolicy, csp)
			if cfg.MapTileURL != "" {
				// Tile servers seldom send Cross-Origin-Resource-Policy; the page needs no
				// cross-origin isolation, so it does not ask for it.
				c.Set("Cross-Origin-Embedder-Policy", "unsafe-none")
				// Tile servers with keys, and OpenStreetMap's, want to know which site asks.
				c.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
			}
			// A page holds no personal data: it may be kept, but asked again each time, so
			// that a new build's assets are found.
			c.Set(fiber.HeaderCacheControl, "no-cache")
			return p.send(c)
		}
	}
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect(CitizenPath) })
	app.Get(CitizenPath, page("citizen.html"))
	app.Get(ConsolePath, page("console.html"))
	app.Get(assetPrefix+":name", func(c *fiber.Ctx) error {
		a, ok := assets[c.Params("name")]
		if !ok {
			return domain.Errorf(domain.CodeNotFound, "no asset %s", c.Params("name"))
		}
		// Asset names carry a hash of their content: a name never changes meaning.
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		return a.send(c)
	})
}
