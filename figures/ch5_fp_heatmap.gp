# ch5_fp_heatmap.gp: renders ch5_fp_heatmap.png from ch5_fp_heatmap.dat. Re-render with:  cd figures && gnuplot ch5_fp_heatmap.gp
if (!exists("outfile")) outfile = 'ch5_fp_heatmap.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_fp_heatmap.dat'
set multiplot layout 1,2 title 'Fokker-Planck density of Langevin dynamics in U = 2(x^2-1)^2, from p_0 = N(1.6, 0.3^2)'
set title 'p(x, t) (log time axis)'; set logscale x; set xlabel 't'; set ylabel 'x'; set yrange [-2:2.5]; set xrange [0.01:10]
set view map; set pm3d map; set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cblabel 'p(x,t)'
set cbrange [0:1.5]; splot dat index 0 using 1:2:3 with pm3d notitle
set title 'L1 distance to the stationary law (linear t, log L1: an exponential is a straight line)' font ',10'
unset logscale x; set logscale y; set xrange [0:10]; set yrange [*:*]
set xlabel 't'; set ylabel '||p_t - p_{inf}||_1'; set format y '10^{%L}'; unset colorbox
set object 1 rect from 4, graph 0 to 8, graph 1 fc rgb '#eeeeee' fs solid noborder behind
plot dat index 1 using 1:2 with linespoints pt 7 ps 0.4 lw 2 title 'grid (in-well stage: the drop before t ~ 0.5)', \
     0.0294353*exp(-0.45436*(x-7.92793)) with lines dt 2 lw 2 lc rgb 'black' title sprintf('exp(-%.3f t), fitted on t in [4, 8] (grey)', 0.45436)
unset multiplot
