# ch5_fp_heatmap.gp: renders ch5_fp_heatmap.png from ch5_fp_heatmap.dat. Re-render with:  cd figures && gnuplot ch5_fp_heatmap.gp
if (!exists("outfile")) outfile = 'ch5_fp_heatmap.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_fp_heatmap.dat'
set multiplot layout 1,2 title 'Fokker-Planck density of Langevin dynamics in U = 2(x^2-1)^2, from p_0 = N(1.6, 0.3^2)'
set title 'p(x, t) (log time axis)'; set logscale x; set xlabel 't'; set ylabel 'x'; set yrange [-2:2.5]; set xrange [0.01:10]
set view map; set pm3d map; set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cblabel 'p(x,t)'
set cbrange [0:1.5]; splot dat index 0 using 1:2:3 with pm3d notitle
set title 'L1 distance to the stationary law: fast in-well, slow between wells'; set logscale xy; set xrange [0.01:10]; set yrange [*:*]
set xlabel 't'; set ylabel '||p_t - p_{inf}||_1'; set format y '10^{%L}'; unset colorbox
plot dat index 1 using 1:2 with lines lw 2 title 'grid', 0.0294353*exp(-0.45436*(x-7.92793)) with lines dt 2 lc rgb 'black' title sprintf('exp(-%.3f t) fit on [4, 8]', 0.45436)
unset multiplot
