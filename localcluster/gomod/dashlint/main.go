// Command dashlint lints Grafana dashboard JSON files: each is decoded strictly into the Grafana
// Foundation SDK's dashboard types (unknown fields, missing required fields and wrong types are
// refused, then the types' own Validate), then checked with rules re-implemented from Grafana's
// dashboard-linter (github.com/grafana/dashboard-linter, lint/rule_*.go), whose module cannot be
// built here (it depends on AGPL Grafana and Loki modules). PromQL is parsed by Prometheus's own
// parser, as the dashboard-linter does. Findings go to stdout; the exit status is 1 when any.
//
// Usage: dashlint FILE...
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/prometheus/prometheus/promql/parser"
)

// Panel types the dashboard-linter's panel rules apply to (its lint/constants.go and rule switches).
var (
	panelsWithUnits   = []string{"stat", "singlestat", "graph", "table-old", "timeseries", "gauge"}
	panelsWithQueries = []string{"singlestat", "gauge", "table-old", "stat", "state-timeline", "timeseries"}
	panelsWithDsRef   = []string{"singlestat", "graph", "table-old", "timeseries"}
)

// Sample values of Grafana's global variables, the dashboard-linter's (lint/variables.go): odd
// durations, so that a range equal to $__rate_interval's is recognised after expansion.
var globalVariables = map[string]string{
	"__rate_interval": "8869990787ms",
	"__interval":      "4867856611ms",
	"__interval_ms":   "7781188786",
	"__range_ms":      "6737667980",
	"__range_s":       "9397795485",
	"__range":         "6069770749ms",
	"__dashboard":     "AwREbnft",
	"__from":          "1594671549254",
	"__to":            "1594671549254",
	"__name":          "name",
	"__org":           "42",
	"__user.id":       "42",
	"__user.login":    "user",
	"__auto":          "12345ms",
}

var variableRegexp = regexp.MustCompile(`\$([[:word:]]+)|\$\{([^}]+)\}|\[\[([^\[\]]+)\]\]`)

type linter struct {
	file     string
	findings []string
}

func (l *linter) add(rule, where, msg string) {
	l.findings = append(l.findings, fmt.Sprintf("%s: [%s] %s: %s", l.file, rule, where, msg))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashlint FILE...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()
	var findings []string
	for _, file := range os.Args[1:] {
		l := &linter{file: file}
		l.lintFile()
		findings = append(findings, l.findings...)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	if len(findings) > 0 {
		fmt.Printf("%d finding(s)\n", len(findings))
		os.Exit(1)
	}
}

func (l *linter) lintFile() {
	raw, err := os.ReadFile(l.file)
	if err != nil {
		l.add("read", "file", err.Error())
		return
	}
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(raw); failed(err) {
		for _, e := range splitErrors(err) {
			l.add("schema", "dashboard", e)
		}
		return
	}
	if err := d.Validate(); failed(err) {
		for _, e := range splitErrors(err) {
			l.add("schema", "dashboard", e)
		}
		return
	}
	panels := l.decodePanels(raw)
	l.uniquePanelIDs(panels)
	l.templateDatasource(d)
	l.templateLabelPromQL(d)
	l.templateOnTimeChangeReload(d)
	for _, p := range panels {
		l.panelDatasource(d, p)
		l.panelTitleDescription(p)
		l.panelUnits(p)
		l.panelNoTargets(p)
		l.targets(d, p)
	}
}

// failed says whether an SDK error is one: its decoders return their error list (cog.BuildErrors)
// as an error even when the list is empty.
func failed(err error) bool {
	var list cog.BuildErrors
	if errors.As(err, &list) {
		return len(list) > 0
	}
	return err != nil
}

func splitErrors(err error) []string {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

func panelName(p dashboard.Panel) string {
	title := ""
	if p.Title != nil {
		title = *p.Title
	}
	id := "?"
	if p.Id != nil {
		id = fmt.Sprint(*p.Id)
	}
	return fmt.Sprintf("panel %s '%s'", id, title)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// panel is a dashboard panel as the SDK decodes it, with its Prometheus queries.
type panel struct {
	dashboard.Panel
	targets int      // how many targets it has
	exprs   []string // its Prometheus queries
}

// decodePanels decodes each panel (those inside rows too) strictly into the SDK's Panel, and the
// targets of a panel with a Prometheus data source strictly into the SDK's Prometheus query. The
// dashboard decoder already reported their schema errors but keeps none of its panels when the
// panel decoder returns its empty error list, and the panel decoder reads targets before the
// panel's data source, so that a target without its own data source would pass untyped.
func (l *linter) decodePanels(raw []byte) []panel {
	var doc struct {
		Panels []json.RawMessage `json:"panels"`
	}
	_ = json.Unmarshal(raw, &doc) // the strict decoder has parsed it already
	var out []panel
	for _, rawPanel := range doc.Panels {
		var head struct {
			Type   string            `json:"type"`
			Panels []json.RawMessage `json:"panels"`
		}
		_ = json.Unmarshal(rawPanel, &head)
		if head.Type == "row" {
			// A collapsed row holds its panels.
			for _, inner := range head.Panels {
				out = append(out, l.decodePanel(inner))
			}
			continue
		}
		out = append(out, l.decodePanel(rawPanel))
	}
	return out
}

func (l *linter) decodePanel(raw []byte) panel {
	var p panel
	_ = p.UnmarshalJSONStrict(raw) // errors already reported by the dashboard's decoder
	var head struct {
		Targets []json.RawMessage `json:"targets"`
	}
	_ = json.Unmarshal(raw, &head)
	p.targets = len(head.Targets)
	if p.Datasource == nil || deref(p.Datasource.Type) != "prometheus" {
		return p
	}
	for i, t := range head.Targets {
		var q prometheus.Dataquery
		if err := q.UnmarshalJSONStrict(t); failed(err) {
			for _, e := range splitErrors(err) {
				l.add("schema", fmt.Sprintf("%s targets[%d]", panelName(p.Panel), i), e)
			}
			continue
		}
		p.exprs = append(p.exprs, q.Expr)
	}
	return p
}

// Not a dashboard-linter rule: Grafana requires panel ids unique within a dashboard (its schema
// says so) and a duplicate makes links and repeats hit the wrong panel.
func (l *linter) uniquePanelIDs(panels []panel) {
	seen := map[uint32]bool{}
	for _, p := range panels {
		if p.Id == nil {
			l.add("panel-id-unique-rule", panelName(p.Panel), "has no id")
			continue
		}
		if seen[*p.Id] {
			l.add("panel-id-unique-rule", panelName(p.Panel), "id is used by another panel")
		}
		seen[*p.Id] = true
	}
}

func templatesOfType(d dashboard.Dashboard, kind string) []dashboard.VariableModel {
	var out []dashboard.VariableModel
	for _, v := range d.Templating.List {
		if string(v.Type) == kind {
			out = append(out, v)
		}
	}
	return out
}

func queryString(v dashboard.VariableModel) string {
	if v.Query == nil {
		return ""
	}
	if v.Query.String != nil {
		return *v.Query.String
	}
	if q, ok := v.Query.Map["query"].(string); ok {
		return q
	}
	return ""
}

// The dashboard's data source variable's plugin type ("" without one).
func templateDatasourceType(d dashboard.Dashboard) string {
	if ds := templatesOfType(d, "datasource"); len(ds) > 0 {
		return queryString(ds[0])
	}
	return ""
}

func (l *linter) templateDatasource(d dashboard.Dashboard) {
	const rule = "template-datasource-rule"
	templated := templatesOfType(d, "datasource")
	if len(templated) == 0 {
		l.add(rule, "dashboard", "does not have a templated data source")
	}
	for _, t := range templated {
		query := queryString(t)
		name := strings.ToLower(query) + "_datasource"
		label := strings.ToUpper(query[:min(1, len(query))]) + strings.ToLower(query[min(1, len(query)):]) + " data source"
		names, labels := []string{name}, []string{label}
		if len(templated) == 1 {
			names, labels = append(names, "datasource"), append(labels, "Data source")
		}
		if !slices.Contains(names, t.Name) {
			l.add(rule, "dashboard", fmt.Sprintf("templated data source variable named '%s', should be named %s", t.Name, strings.Join(names, " or ")))
		}
		if !slices.Contains(labels, deref(t.Label)) {
			l.add(rule, "dashboard", fmt.Sprintf("templated data source variable labeled '%s', should be labeled %s", deref(t.Label), strings.Join(labels, " or ")))
		}
	}
}

var templatedLabelRegexp = regexp.MustCompile(`([a-z_]+)\((.+)\)`)

func (l *linter) templateLabelPromQL(d dashboard.Dashboard) {
	const rule = "template-label-promql-rule"
	if templateDatasourceType(d) != "prometheus" {
		return
	}
	for _, t := range templatesOfType(d, "query") {
		query := queryString(t)
		tokens := templatedLabelRegexp.FindStringSubmatch(query)
		switch {
		case tokens == nil:
			l.add(rule, "template '"+t.Name+"'", fmt.Sprintf("invalid query '%s'", query))
		case !slices.Contains([]string{"label_names", "label_values", "metrics", "query_result"}, tokens[1]):
			l.add(rule, "template '"+t.Name+"'", fmt.Sprintf("invalid function '%s'", tokens[1]))
		default:
			// label_values(selector, label): the linter parses everything inside the call as PromQL,
			// which for two arguments fails; parse the selector, and check the label name.
			args := tokens[2]
			if tokens[1] == "label_values" {
				if i := strings.LastIndex(args, ","); i >= 0 {
					label := strings.TrimSpace(args[i+1:])
					if !regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`).MatchString(label) {
						l.add(rule, "template '"+t.Name+"'", fmt.Sprintf("invalid label name '%s'", label))
					}
					args = args[:i]
				} else {
					args = ""
				}
			}
			if strings.TrimSpace(args) == "" {
				continue
			}
			if _, err := parsePromQL(args, d.Templating.List); err != nil {
				l.add(rule, "template '"+t.Name+"'", fmt.Sprintf("invalid PromQL '%s': %v", args, err))
			}
		}
	}
}

func (l *linter) templateOnTimeChangeReload(d dashboard.Dashboard) {
	for _, t := range templatesOfType(d, "query") {
		if t.Refresh == nil || *t.Refresh != dashboard.VariableRefreshOnTimeRangeChanged {
			l.add("template-on-time-change-reload-rule", "template '"+t.Name+"'",
				"should be refreshed 'On Time Range Change' (refresh: 2)")
		}
	}
}

func (l *linter) panelDatasource(d dashboard.Dashboard, p panel) {
	if !slices.Contains(panelsWithDsRef, p.Type) {
		return
	}
	allowed := []string{}
	for _, t := range templatesOfType(d, "datasource") {
		allowed = append(allowed, "$"+t.Name, "${"+t.Name+"}")
	}
	uid := ""
	if p.Datasource != nil {
		uid = deref(p.Datasource.Uid)
	}
	if !slices.Contains(allowed, uid) {
		l.add("panel-datasource-rule", panelName(p.Panel), fmt.Sprintf("does not use a templated data source, uses '%s'", uid))
	}
}

func (l *linter) panelTitleDescription(p panel) {
	if slices.Contains(panelsWithUnits, p.Type) && (deref(p.Title) == "" || deref(p.Description) == "") {
		l.add("panel-title-description-rule", panelName(p.Panel), "has no title or no description")
	}
}

// Grafana's unit ids (packages/grafana-data/src/valueFormats/categories.ts), as the
// dashboard-linter lists them.
var validUnits = strings.Fields(`none string short percent percentunit humidity dB hex0x hex sci locale pixel
accMS2 accFS2 accG degree radian grad arcmin arcsec areaM2 areaF2 areaMI2
flops mflops gflops tflops pflops eflops zflops yflops
ppm conppb conngm3 conngNm3 conμgm3 conμgNm3 conmgm3 conmgNm3 congm3 congNm3 conmgdL conmmolL
currencyUSD currencyGBP currencyEUR currencyJPY currencyRUB currencyUAH currencyBRL currencyDKK currencyISK
currencyNOK currencySEK currencyCZK currencyCHF currencyPLN currencyBTC currencymBTC currencyμBTC currencyZAR
currencyINR currencyKRW currencyIDR currencyPHP currencyVND
bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes tbytes dectbytes pbytes decpbytes
pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits GiBs Gibits GBs Gbits TiBs Tibits TBs Tbits
PiBs Pibits PBs Pbits
dateTimeAsIso dateTimeAsIsoNoDateIfToday dateTimeAsUS dateTimeAsUSNoDateIfToday dateTimeAsLocal
dateTimeAsLocalNoDateIfToday dateTimeAsSystem dateTimeFromNow
watt kwatt megwatt gwatt mwatt Wm2 voltamp kvoltamp voltampreact kvoltampreact watth watthperkg kwatth kwattm
amph kamph mamph joule ev amp kamp mamp volt kvolt mvolt dBm ohm kohm Mohm farad µfarad nfarad pfarad ffarad
henry mhenry µhenry lumens
flowgpm flowcms flowcfs flowcfm litreh flowlpm flowmlpm lux forceNm forcekNm forceN forcekN
Hs KHs MHs GHs THs PHs EHs massmg massg masslb masskg masst
lengthmm lengthin lengthft lengthm lengthkm lengthmi
pressurembar pressurebar pressurekbar pressurepa pressurehpa pressurekpa pressurehg pressurepsi
radbq radci radgy radrad radsv radmsv radusv radrem radexpckg radr radsvh radmsvh radusvh
rotrpm rothz rotrads rotdegs celsius fahrenheit kelvin
hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks
cps ops reqps rps wps iops cpm opm rpm wpm mps mpm
velocityms velocitykmh velocitymph velocityknot mlitre litre m3 Nm3 dm3 gallons bool bool_yes_no bool_on_off`)

func (l *linter) panelUnits(p panel) {
	if !slices.Contains(panelsWithUnits, p.Type) {
		return
	}
	// A stat panel showing non-numeric fields needs no unit.
	if opts, ok := p.Options.(*stat.Options); ok && deref(opts.ReduceOptions.Fields) != "" {
		return
	}
	unit := ""
	if p.FieldConfig != nil {
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.Id == "mappings" && prop.Value != nil {
					return // value mappings replace units
				}
				if s, ok := prop.Value.(string); ok && prop.Id == "unit" {
					unit = s
				}
			}
		}
		if len(p.FieldConfig.Defaults.Mappings) > 0 {
			return
		}
		if unit == "" {
			unit = deref(p.FieldConfig.Defaults.Unit)
		}
	}
	if !slices.Contains(validUnits, unit) {
		l.add("panel-units-rule", panelName(p.Panel), fmt.Sprintf("has no or invalid unit: '%s'", unit))
	}
}

func (l *linter) panelNoTargets(p panel) {
	if slices.Contains(panelsWithUnits, p.Type) && p.targets == 0 {
		l.add("panel-no-targets-rule", panelName(p.Panel), "has no targets")
	}
}

// targets applies target-promql-rule and target-rate-interval-rule to the panel's Prometheus queries.
func (l *linter) targets(d dashboard.Dashboard, p panel) {
	if templateDatasourceType(d) != "prometheus" || !slices.Contains(panelsWithQueries, p.Type) {
		return
	}
	rateInterval, _ := time.ParseDuration(globalVariables["__rate_interval"])
	for i, expr := range p.exprs {
		where := fmt.Sprintf("%s targets[%d]", panelName(p.Panel), i)
		parsed, err := parsePromQL(expr, d.Templating.List)
		if err != nil {
			l.add("target-promql-rule", where, fmt.Sprintf("invalid PromQL query '%s': %v", expr, err))
			continue
		}
		parser.Inspect(parsed, func(node parser.Node, parents []parser.Node) error {
			sel, ok := node.(*parser.MatrixSelector)
			if !ok || sel.Range == rateInterval || len(parents) == 0 {
				return nil
			}
			// As the dashboard-linter: a range with a fixed duration is wrong in (i)rate, and
			// anywhere but as a function's argument.
			call, ok := parents[len(parents)-1].(*parser.Call)
			if !ok {
				l.add("target-rate-interval-rule", where, fmt.Sprintf("'%s': range vector outside a function", expr))
			} else if call.Func.Name == "rate" || call.Func.Name == "irate" {
				l.add("target-rate-interval-rule", where, fmt.Sprintf("'%s' should use $__rate_interval", expr))
			}
			return nil
		})
	}
}

// parsePromQL expands Grafana variables to sample values (the dashboard-linter's
// expandVariables: global variables get their sample, template variables their name; nothing
// inside double quotes is touched) and parses the result with Prometheus's parser.
func parsePromQL(expr string, variables []dashboard.VariableModel) (parser.Expr, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("empty query")
	}
	parts := strings.Split(expr, `"`)
	for i := 0; i < len(parts); i += 2 {
		parts[i] = variableRegexp.ReplaceAllStringFunc(parts[i], func(match string) string {
			m := variableRegexp.FindStringSubmatch(match)
			name := m[1] + m[2] + m[3]
			name, _, _ = strings.Cut(name, ":")
			if v, ok := globalVariables[name]; ok {
				return v
			}
			return name
		})
	}
	return parser.NewParser(parser.Options{}).ParseExpr(strings.Join(parts, `"`))
}
