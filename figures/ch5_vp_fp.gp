# ch5_vp_fp.gp: renders ch5_vp_fp.png from ch5_vp_fp.dat. Re-render with:  cd figures && gnuplot ch5_vp_fp.gp
if (!exists("outfile")) outfile = 'ch5_vp_fp.png'
set terminal pngcairo size 1500,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_vp_fp.dat'
set multiplot layout 1,4 title 'VP SDE forward process of a 1D mixture: Fokker-Planck grid (red), PF-ODE continuity grid (green), exact (dashed), 10000 particles (bars)'
set xlabel 'x'; set ylabel 'p_t(x)'; set xrange [-4:4]; set yrange [0:1.0]; set style fill transparent solid 0.35 noborder; set key top left font ',9'
set title 't = 0, a(t) = 1.000'
plot dat index 0 using 1:5 with boxes lc rgb '#6baed6' title 'particles (EM)', '' index 0 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'FP grid', \
     '' index 0 using 1:3 with lines lw 2 lc rgb '#1b9e77' title 'PF-ODE grid', '' index 0 using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'exact'
set title 't = 0.1, a(t) = 0.947'
plot dat index 1 using 1:5 with boxes lc rgb '#6baed6' title 'particles (EM)', '' index 1 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'FP grid', \
     '' index 1 using 1:3 with lines lw 2 lc rgb '#1b9e77' title 'PF-ODE grid', '' index 1 using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'exact'
set title 't = 0.3, a(t) = 0.630'
plot dat index 2 using 1:5 with boxes lc rgb '#6baed6' title 'particles (EM)', '' index 2 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'FP grid', \
     '' index 2 using 1:3 with lines lw 2 lc rgb '#1b9e77' title 'PF-ODE grid', '' index 2 using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'exact'
set title 't = 1, a(t) = 0.007'
plot dat index 3 using 1:5 with boxes lc rgb '#6baed6' title 'particles (EM)', '' index 3 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'FP grid', \
     '' index 3 using 1:3 with lines lw 2 lc rgb '#1b9e77' title 'PF-ODE grid', '' index 3 using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'exact'
unset multiplot
