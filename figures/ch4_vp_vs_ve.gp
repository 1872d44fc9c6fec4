# ch4_vp_vs_ve.gp: renders ch4_vp_vs_ve.png from ch4_vp_vs_ve.dat. Re-render with:  cd figures && gnuplot ch4_vp_vs_ve.gp
if (!exists("outfile")) outfile = 'ch4_vp_vs_ve.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_vp_vs_ve.dat'
set multiplot layout 1,2 title 'VP (DDPM) vs VE (SMLD) on the same 1D mixture: p_t(x) / max_x p_t (colour), paths, mean +- 2 sd (dashed)'
set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cbrange [0:1]; unset colorbox
set xlabel 't'; set xrange [0:1]; set ylabel 'x'; set key top left font ',9' opaque
set title 'VP: dx = -beta x/2 dt + sqrt(beta) dw (mean shrinks, var -> 1)'; set yrange [-4:5.5]
plot dat index 0 using 1:2:3 with image notitle, for [k=1:10] dat index k with lines lw 1 lc rgb '#d7301f' notitle, \
     dat index 11 using 1:($2+2*$3) with lines lw 3 dt 2 lc rgb 'black' title 'mean +- 2 sd', '' index 11 using 1:($2-2*$3) with lines lw 3 dt 2 lc rgb 'black' notitle, \
     dat index 11 using 1:2 with lines lw 2 lc rgb '#31a354' title 'mean'
set title 'VE: dx = sqrt(d sigma^2/dt) dw (mean stays, var explodes to sigma_{max}^2 = 100)'; set yrange [-25:25]
plot dat index 12 using 1:2:3 with image notitle, for [k=13:22] dat index k with lines lw 1 lc rgb '#d7301f' notitle, \
     dat index 23 using 1:($2+2*$3) with lines lw 3 dt 2 lc rgb 'black' title 'mean +- 2 sd', '' index 23 using 1:($2-2*$3) with lines lw 3 dt 2 lc rgb 'black' notitle, \
     dat index 23 using 1:2 with lines lw 2 lc rgb '#31a354' title 'mean'
unset multiplot
