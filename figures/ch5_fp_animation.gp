# ch5_fp_animation.gp: renders ch5_fp_animation.png from ch5_fp_animation.dat. Re-render with:  cd figures && gnuplot ch5_fp_animation.gp
if (!exists("outfile")) outfile = 'ch5_fp_animation.png'
set terminal pngcairo size 1400,600 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_fp_animation.dat'
array T[62]
T[1] = 0
T[2] = 0.01
T[3] = 0.01122
T[4] = 0.012589
T[5] = 0.014125
T[6] = 0.015849
T[7] = 0.017783
T[8] = 0.019953
T[9] = 0.022387
T[10] = 0.025119
T[11] = 0.028184
T[12] = 0.031623
T[13] = 0.035481
T[14] = 0.039811
T[15] = 0.044668
T[16] = 0.050119
T[17] = 0.056234
T[18] = 0.063096
T[19] = 0.070795
T[20] = 0.079433
T[21] = 0.089125
T[22] = 0.1
T[23] = 0.1122
T[24] = 0.12589
T[25] = 0.14125
T[26] = 0.15849
T[27] = 0.17783
T[28] = 0.19953
T[29] = 0.22387
T[30] = 0.25119
T[31] = 0.28184
T[32] = 0.31623
T[33] = 0.35481
T[34] = 0.39811
T[35] = 0.44668
T[36] = 0.50119
T[37] = 0.56234
T[38] = 0.63096
T[39] = 0.70795
T[40] = 0.79433
T[41] = 0.89125
T[42] = 1
T[43] = 1.122
T[44] = 1.2589
T[45] = 1.4125
T[46] = 1.5849
T[47] = 1.7783
T[48] = 1.9953
T[49] = 2.2387
T[50] = 2.5119
T[51] = 2.8184
T[52] = 3.1623
T[53] = 3.5481
T[54] = 3.9811
T[55] = 4.4668
T[56] = 5.0119
T[57] = 5.6234
T[58] = 6.3096
T[59] = 7.0795
T[60] = 7.9433
T[61] = 8.9125
T[62] = 10
set xlabel 'x'; set ylabel 'p(x, t)'; set xrange [-2.5:2.5]; set yrange [0:2.2]; set style fill transparent solid 0.35 noborder
frame(k) = sprintf("plot dat index %d using 1:3 with boxes lc rgb '#6baed6' title '10000 particles', '' index %d using 1:2 with lines lw 3 lc rgb '#d7301f' title 'Fokker-Planck grid', '' index %d using 1:4 with lines dt 2 lw 2 lc rgb 'black' title 'e^{-U}/Z'", k, k, k)
set multiplot layout 2,4 title 'Langevin dynamics in U = 2(x^2-1)^2: frames of the animated GIF written beside this figure'
set key top left font ',8'
do for [k in '0 11 21 31 41 46 51 61'] { set title sprintf('t = %.3g', T[int(k)+1]); eval frame(int(k)) }
unset multiplot
# the animation: written to a temporary, renamed when complete
set terminal gif animate delay 10 loop 0 optimize size 720,450 font 'Sans,10'
set output 'ch5_fp_animation.gif.tmp'
set key top left font ',10'
do for [k=0:61] { set title sprintf('Fokker-Planck vs particles, t = %.3f', T[k+1]); eval frame(k) }
set output
system('mv -f ch5_fp_animation.gif.tmp ch5_fp_animation.gif')
