# ch2_x0_vs_eps_gmm.gp: renders ch2_x0_vs_eps_gmm.png from ch2_x0_vs_eps_gmm.dat. Re-render with:  cd figures && gnuplot ch2_x0_vs_eps_gmm.gp
if (!exists("outfile")) outfile = 'ch2_x0_vs_eps_gmm.png'
set terminal pngcairo size 1200,1000 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_x0_vs_eps_gmm.dat'
set multiplot layout 2,2 title 'The PDF''s algorithm (predict x_0) vs DDPM''s (predict ε), same network, data, seed and steps (gmm)'
set logscale y; set format y '10^{%L}'; set xlabel 't'; set key bottom left font ',9'
set title 'per-step error in noise units ||ε̂ - ε||^2'
plot dat index 0 using 1:4 with linespoints pt 7 ps 0.5 lw 2 title 'ε model', '' index 0 using 1:6 with linespoints pt 5 ps 0.5 lw 2 title 'x_0 model'
set title 'the same outputs in data units ||x̂_0 - x_0||^2 = SNR^{-1} ||ε̂ - ε||^2'; set key top left
plot dat index 0 using 1:3 with linespoints pt 7 ps 0.5 lw 2 title 'ε model', '' index 0 using 1:5 with linespoints pt 5 ps 0.5 lw 2 title 'x_0 model', \
     '' index 0 using 1:2 with lines dt 2 lc rgb 'black' title 'SNR^{-1} = (1 - ᾱ_t)/ᾱ_t'
unset logscale y; set format y '%g'; set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key; unset xlabel
set title sprintf('ε model: sliced W1 %.3f ± %.3f (floor %.3f), to data %.3f (floor %.3f)', 0.0331207, 0.00943661, 0.029294, 0.00841871, 0.00579116)
plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5'
set title sprintf('x_0 model: sliced W1 %.3f ± %.3f (floor %.3f), to data %.3f (floor %.3f)', 0.0463915, 0.00907609, 0.029294, 0.00649378, 0.00579116)
plot dat index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'
unset multiplot
