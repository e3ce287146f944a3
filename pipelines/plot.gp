# The figures of the study pipelines (shared/spec/STUDIES.md), one PNG per
# call, one curve per current (or per value of another series):
#   gnuplot -c plot.gp KIND CSV OUT.png DESIGN_COLUMN LABEL "CURRENTS" \
#       [CATEGORIES [SERIES_COLUMN SERIES_TITLE]]
# KIND: structures (kappa_eff/kappa_bulk and C_theo/C_theo(first) versus the
# design value), energy, capacity (with the theoretical curve), gain-energy,
# gain-capacity (versus the design value), utilization, cumulative (profiles
# from separator to collector), electrolyte (c_e / c_e,0 across separator and
# cathode, LIB), discharge (U versus capacity).
# CSV: the tidy tables of collect.sh (columns are selected by name).
# CATEGORIES (ARG7, optional): the design values are names, not numbers
# (Study G); they are drawn at 1, 2, ... in this order, labelled.
# SERIES_COLUMN, SERIES_TITLE (ARG8, ARG9; default set_current_mA_cm2 and
# "@ mA/cm^2"): the column that tells the curves apart, whose values
# CURRENTS lists, and the title of a curve, @ for the value (Study P-t+:
# t_plus and "t_+ = @").
#   gnuplot -c plot.gp fractions|utilization-designs|electrolyte-designs CSV OUT.png \
#       design TITLE "DESIGNS" [CURVE_TITLE]
# draws a profile per design (column design) from one long table: the CAM
# volume fraction (vf_cam), the utilization or c_e / c_e,0, versus x_um;
# CURVE_TITLE names a curve, @ for the design (default: the design).
#   gnuplot -c plot.gp gains CSV OUT.png r_um LABEL "CURRENTS"
# two panels, capacity and energy gain versus r, one curve per cell type
# (column cell) and current (compare-cells.mk).
kind = ARG1
csv = ARG2
design = ARG4
label = ARG5
currents = ARG6
categories = ARG7

set terminal pngcairo size 900,620 font "DejaVu Sans,12"
set output ARG3
set datafile separator comma
set datafile columnheaders
set grid
set key outside right top
set pointsize 1.1
series = ARG8 ne "" ? ARG8 : "set_current_mA_cm2"
stitle = ARG9 ne "" ? ARG9 : "@ mA/cm^2"
# the title format with @ replaced by s
with_value(f, s) = strstrt(f, "@") > 0 ? f[1:strstrt(f, "@") - 1] . s . f[strstrt(f, "@") + 1:] : f
# the axes of a c_e profile (LIB): separator at x < 0, its face marked
electrolyte_axes = "set xlabel \"distance from the cathode's separator side (µm; < 0: separator)\"; " . \
	"set ylabel \"c_e / c_{e,0}\"; set yrange [0:*]; " . \
	"set arrow from 0, graph 0 to 0, graph 1 nohead dt 3 lc \"gray40\""
ncur = words(currents)
cur(i) = real(word(currents, i))
ctitle(i) = with_value(stitle, word(currents, i))
sel(i, name) = column(series) == cur(i) ? column(name) : NaN
# x of a row: its design value, or the position of its name in CATEGORIES
ncat = words(categories)
position(s) = sum [k=1:ncat] (word(categories, k) eq s ? k : 0)
xval(dummy) = ncat > 0 ? position(strcol(design)) : column(design)
if (ncat > 0) {
	set xtics () rotate by -30
	do for [k=1:ncat] { set xtics add (word(categories, k) k) }
	set xrange [0.5:ncat + 0.5]
}
# names are not a scale: points, not lines between them
points = ncat > 0 ? "points pt 7 ps 1.6" : "linespoints lw 2"
theory = ncat > 0 ? "points pt 6 ps 2 lc 'black'" : "lines lw 2 dt 2 lc 'black'"

if (kind eq "fractions" || kind eq "utilization-designs" || kind eq "electrolyte-designs") {
	set title label
	set xlabel "distance from the separator (µm)"
	set xtics autofreq norotate
	set autoscale x
	set key outside right top
	ndes = words(currents)
	des(s, k) = s eq word(currents, k)
	dtitle = ARG7 ne "" ? ARG7 : "@"
	if (kind eq "fractions") {
		set ylabel "CAM volume fraction"
		ycol = "vf_cam"
	}
	if (kind eq "utilization-designs") {
		# on its own scale: designs differ by a few % at high current
		set ylabel "CAM utilization"
		set yrange [0:*]
		ycol = "utilization"
	}
	if (kind eq "electrolyte-designs") {
		@electrolyte_axes
		ycol = "c_e_rel"
	}
	plot for [k=1:ndes] csv using (des(strcol(design), k) ? column("x_um") : NaN):(column(ycol)) \
		with lines lw 2 title with_value(dtitle, word(currents, k))
	exit
}

if (kind eq "gains") {
	# compare-cells: one curve per cell type and current, ASSB solid, LIB dashed
	set terminal pngcairo size 1400,680 font "DejaVu Sans,12"
	set output ARG3
	set multiplot layout 1,2 title label
	set key below
	set bmargin 7
	set xlabel "channel radius r (µm)"
	cells = "assb lib"
	cname(c) = c eq "assb" ? "ASSB" : "LIB"
	pick(c, i, name) = strcol("cell") eq c && column("set_current_mA_cm2") == cur(i) ? column(name) : NaN
	do for [p=1:2] {
		ycol = p == 1 ? "gain_capacity_pct" : "gain_energy_pct"
		set ylabel (p == 1 ? "capacity gain against r = 0 (%)" : "energy density gain against r = 0 (%)")
		set title (p == 1 ? "Practical capacity" : "Energy density")
		plot for [c=1:2] for [i=1:ncur] csv using (column(design)):(pick(word(cells, c), i, ycol)) \
			with linespoints lw 2 dt c lc i pt (c == 1 ? 7 : 6) \
			title cname(word(cells, c)) . ", " . ctitle(i)
	}
	unset multiplot
	exit
}

if (kind eq "structures") {
	set title "Cathode structures"
	set key below
	set xlabel label
	set ylabel "κ_{eff} / κ_{bulk}"
	set y2label "C_{theo} / C_{theo} (first design)"
	set ytics nomirror
	set y2tics
	plot csv using (xval(0)):(column("kappa_rel")) with @points \
		title "κ_{eff} / κ_{bulk}", \
	     csv using (xval(0)):(column("c_theo_rel")) axes x1y2 with @points \
		title "C_{theo}, normalized"
	exit
}

if (kind eq "energy" || kind eq "capacity" || kind eq "gain-energy" || kind eq "gain-capacity") {
	set xlabel label
	if (kind eq "energy") {
		ycol = "energy_density_Wh_kg"; theo = "e_theo_Wh_kg"
		set ylabel "energy density (Wh/kg)"
		set title "Gravimetric energy density (anode, separator, cathode)"
	}
	if (kind eq "capacity") {
		ycol = "capacity_mAh_cm2"; theo = "c_theo_mAh_cm2"
		set ylabel "practical capacity (mAh/cm^2)"
		set title "Practical capacity to the cut-off"
	}
	if (kind eq "gain-energy") {
		ycol = "gain_energy_pct"; theo = ""
		set ylabel "energy density gain against the first design (%)"
		set title "Energy density gain"
	}
	if (kind eq "gain-capacity") {
		ycol = "gain_capacity_pct"; theo = ""
		set ylabel "capacity gain against the first design (%)"
		set title "Capacity gain"
	}
	if (theo eq "") {
		plot for [i=1:ncur] csv using (xval(0)):(sel(i, ycol)) with @points \
			title ctitle(i)
	} else {
		plot for [i=1:ncur] csv using (xval(0)):(sel(i, ycol)) with @points \
			title ctitle(i), \
		     csv using (xval(0)):(sel(1, theo)) with @theory \
			title "theoretical"
	}
	exit
}

set title label
if (kind eq "utilization") {
	set xlabel "distance from the separator (µm)"
	set ylabel "CAM utilization"
	set yrange [0:1.05]
	xcol = "x_um"; ycol = "utilization"
}
if (kind eq "cumulative") {
	set xlabel "distance from the separator (µm)"
	set ylabel "cumulative capacity (mAh/cm^2)"
	xcol = "x_um"; ycol = "cumulative_capacity_mAh_cm2"
}
if (kind eq "electrolyte") {
	@electrolyte_axes
	xcol = "x_um"; ycol = "c_e_rel"
}
if (kind eq "discharge") {
	set xlabel "capacity (mAh/cm^2)"
	set ylabel "cell voltage (V)"
	xcol = "capacity_mAh_cm2"; ycol = "voltage_V"
}
plot for [i=1:ncur] csv using (column(xcol)):(sel(i, ycol)) with lines lw 2 title ctitle(i)
