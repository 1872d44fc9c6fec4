# ch4_brownian_paths.gp: renders ch4_brownian_paths.png from ch4_brownian_paths.dat. Re-render with:  cd figures && gnuplot ch4_brownian_paths.gp
if (!exists("outfile")) outfile = 'ch4_brownian_paths.png'
set terminal pngcairo size 1200,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_brownian_paths.dat'
set multiplot layout 1,2 title 'Simple forward SDEs: sample paths and their closed-form envelopes'
set xlabel 't'; set key top left font ',9'
set title 'Random walk x_i = x_{i-1} + z/sqrt(1000) -> Brownian motion'; set ylabel 'w_t'
plot for [k=0:19] dat index k with lines lw 1 notitle, \
     dat index 40 using 1:(2*$4) with lines lw 3 dt 2 lc rgb 'black' title '+-2 sqrt(t)', '' index 40 using 1:(-2*$4) with lines lw 3 dt 2 lc rgb 'black' notitle
set title 'VP SDE dx = -beta x/2 dt + sqrt(beta) dw from x_0 = 2'; set ylabel 'x_t'; set yrange [-3.5:3.5]
plot for [k=20:39] dat index k with lines lw 1 notitle, \
     dat index 40 using 1:($2+2*$3) with lines lw 3 dt 2 lc rgb 'black' title 'mean +- 2 sd', '' index 40 using 1:($2-2*$3) with lines lw 3 dt 2 lc rgb 'black' notitle
unset multiplot
