# ddim_inversion_error.gp: renders ddim_inversion_error.png from ddim_inversion_error.dat. Re-render with:  cd figures && gnuplot ddim_inversion_error.gp
if (!exists("outfile")) outfile = 'ddim_inversion_error.png'
set terminal pngcairo size 800,500 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_inversion_error.dat'
set title 'DDIM inversion: x_0 -> x_T -> x_0 round-trip error against steps'
set logscale xy; set xlabel 'steps K (each way)'; set ylabel 'RMS error per coordinate'; set key bottom left
plot dat index 0 using 1:2 with linespoints lw 2 pt 7 title '2D, exact denoiser', \
     dat index 1 using 1:2 with linespoints lw 2 pt 5 title '2D, trained network', \
     dat index 2 using 1:2 with linespoints lw 2 pt 9 title 'Fashion-MNIST, U-Net', \
     [5:1000] 0.0348263 * 100 / x with lines dt 2 lc rgb 'black' title 'slope 1/K'
