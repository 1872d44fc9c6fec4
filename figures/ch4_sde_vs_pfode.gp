# ch4_sde_vs_pfode.gp: renders ch4_sde_vs_pfode.png from ch4_sde_vs_pfode.dat. Re-render with:  cd figures && gnuplot ch4_sde_vs_pfode.gp
if (!exists("outfile")) outfile = 'ch4_sde_vs_pfode.png'
set terminal pngcairo size 1650,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_sde_vs_pfode.dat'
set multiplot layout 1,3 title 'Same starting noise, exact score: reverse SDE (stochastic) vs probability-flow ODE (deterministic)'
set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); unset colorbox
set xlabel 't (running backwards)'; set ylabel 'x_1 (first coordinate)'; set xrange [1:0]; set yrange [-2:2]
set title 'reverse SDE over p_t(x_1)'; plot dat index 0 using 1:2:3 with image notitle, for [k=1:12] dat index k using 1:2 with lines lw 1.5 lc rgb '#d7301f' notitle
set title 'PF-ODE over p_t(x_1)'; plot dat index 0 using 1:2:3 with image notitle, for [k=13:24] dat index k using 1:2 with lines lw 1.5 lc rgb '#08519c' notitle
set title 'in the plane: all ODE paths, 3 SDE paths'; set size ratio -1; set xrange [-2.2:2.2]; set yrange [-2.2:2.2]; set xlabel 'x_1'; set ylabel 'x_2'; set key bottom right font ',9' opaque
plot for [k=1:3] dat index k using 2:3 with lines lw 0.6 lc rgb '#fc9272' title (k == 1 ? 'reverse SDE (3 paths)' : ''), \
     dat index 25 with points pt 7 ps 0.2 lc rgb '#969696' title 'data', \
     for [k=13:24] dat index k using 2:3 with lines lw 2 lc rgb '#08519c' title (k == 13 ? 'PF-ODE' : ''), \
     for [k=1:12] dat index k every ::0::0 using 2:3 with points pt 7 ps 1 lc rgb 'black' title (k == 1 ? 'x_1 (start)' : '')
unset multiplot
