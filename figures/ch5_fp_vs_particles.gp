# ch5_fp_vs_particles.gp: renders ch5_fp_vs_particles.png from ch5_fp_vs_particles.dat. Re-render with:  cd figures && gnuplot ch5_fp_vs_particles.gp
if (!exists("outfile")) outfile = 'ch5_fp_vs_particles.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_fp_vs_particles.dat'
set multiplot layout 1,2 title 'Fokker-Planck on a grid vs particles: OU dx = -x dt + sqrt(2) dw, p_0 = N(2, 0.5^2)'
array T[5] = [0, 0.1, 0.3, 1, 3]
set title 'grid (lines), 10000 particles (bars), closed form (dashed)'; set xlabel 'x'; set ylabel 'p(x, t)'
set key top right; set style fill transparent solid 0.3 noborder; set xrange [-2:5]
array C[5] = ['#7570b3', '#1b9e77', '#d95f02', '#e7298a', '#386cb0']
plot for [s=0:4] dat index s using 1:3 with boxes lc rgb C[s+1] notitle, \
     for [s=0:4] dat index s using 1:2 with lines lw 2 lc rgb C[s+1] title sprintf('t = %g', T[s+1]), \
     for [s=0:4] dat index s using 1:4 with lines dt 2 lw 1 lc rgb 'black' notitle
set title 'L1 error at t = 1 vs cell width (dt = h^2/4)'; set logscale xy; set xrange [0.02:0.25]; set xtics (0.025, 0.05, 0.1, 0.2)
set xlabel 'h'; set ylabel 'sum |p_i - exact| h'; set format y '10^{%L}'; set key bottom right
plot dat index 5 using 1:2 with linespoints pt 7 lw 2 title 'grid vs closed form', \
     0.0084704*(x/0.2)**2 with lines dt 2 lc rgb 'gray40' title 'slope 2'
unset multiplot
