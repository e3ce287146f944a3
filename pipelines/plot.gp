# The figures of the study pipelines (shared/spec/STUDIES.md), one PNG per
# call, one curve per current:
#   gnuplot -c plot.gp KIND CSV OUT.png DESIGN_COLUMN LABEL "CURRENTS"
# KIND: structures (kappa_eff/kappa_bulk and C_theo/C_theo(first) versus the
# design value), energy, capacity (with the theoretical curve), gain-energy,
# gain-capacity (versus the design value), utilization, cumulative (profiles
# from separator to collector), discharge (U versus capacity).
# CSV: the tidy tables of collect.sh (columns are selected by name).
# CATEGORIES (ARG7, optional): the design values are names, not numbers
# (Study G); they are drawn at 1, 2, ... in this order, labelled.
#   gnuplot -c plot.gp fractions|utilization-designs CSV OUT.png design TITLE "DESIGNS"
# draws a profile per design (column design) from one long table: the CAM
# volume fraction (vf_cam) or the utilization, versus x_um.
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
ncur = words(currents)
cur(i) = real(word(currents, i))
ctitle(i) = word(currents, i) . " mA/cm^2"
sel(i, name) = column("set_current_mA_cm2") == cur(i) ? column(name) : NaN
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

if (kind eq "fractions" || kind eq "utilization-designs") {
	set title label
	set xlabel "distance from the separator (µm)"
	set xtics autofreq norotate
	set autoscale x
	set key outside right top
	ndes = words(currents)
	des(s, k) = s eq word(currents, k)
	if (kind eq "fractions") {
		set ylabel "CAM volume fraction"
		ycol = "vf_cam"
	} else {
		# on its own scale: designs differ by a few % at high current
		set ylabel "CAM utilization"
		set yrange [0:*]
		ycol = "utilization"
	}
	plot for [k=1:ndes] csv using (des(strcol(design), k) ? column("x_um") : NaN):(column(ycol)) \
		with lines lw 2 title word(currents, k)
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
if (kind eq "discharge") {
	set xlabel "capacity (mAh/cm^2)"
	set ylabel "cell voltage (V)"
	xcol = "capacity_mAh_cm2"; ycol = "voltage_V"
}
plot for [i=1:ncur] csv using (column(xcol)):(sel(i, ycol)) with lines lw 2 title ctitle(i)
