# ddim_optim_view.gp: renders ddim_optim_view.png from ddim_optim_view.dat. Re-render with:  cd figures && gnuplot ddim_optim_view.gp
if (!exists("outfile")) outfile = 'ddim_optim_view.png'
set terminal pngcairo size 1100,1000 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_optim_view.dat'
set multiplot layout 2,2 title 'The optimisation view (Permenter and Yuan): denoiser ≈ projection, DDIM ≈ gradient descent'
set size ratio -1; unset key
set title 'σ = 0.1: noisy z → D(z) lands on the circle (projection)'; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]
plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', dat index 1 using 1:2:3:4 with vectors head filled size 0.03,20 lc rgb '#d7301f', dat index 1 using 1:2 with points pt 7 ps 0.4 lc rgb '#d7301f'
set title 'σ = 2: D(z) ≈ z/(2σ^2), pulled to the mean'; set xrange [-5:5]; set yrange [-5:5]
plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', dat index 2 using 1:2:3:4 with vectors head filled size 0.15,20 lc rgb '#2171b5', dat index 2 using 1:2 with points pt 7 ps 0.4 lc rgb '#2171b5'
set title 'DDIM paths (z form, σ 2 → 0.005): descent onto the circle'; set xrange [-3.5:3.5]; set yrange [-3.5:3.5]
plot dat index 0 using 1:2 with lines lw 2 lc rgb '#636363', for [k=3:18] dat index k using 1:2 with linespoints pt 7 ps 0.3 lw 1 lc k, \
     for [k=3:18] dat index k every ::0::0 using 1:2 with points pt 6 ps 1.2 lc rgb 'black'
set size noratio; set title 'distance to the data shrinks with sigma'; set logscale x; set xrange [0.004:2.5]; set yrange [0:1.2]
set xlabel 'sigma'; set ylabel 'mean dist(z, circle) / sigma'; set key bottom right
plot dat index 19 using 1:2 with linespoints pt 7 ps 0.4 lw 2 title 'DDIM paths (1000)', 0.797885 with lines dt 2 lc rgb 'black' title 'sqrt(2/pi): the law x_0 + sigma eps'
unset multiplot
