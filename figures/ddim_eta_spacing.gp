# ddim_eta_spacing.gp: renders ddim_eta_spacing.png from ddim_eta_spacing.dat. Re-render with:  cd figures && gnuplot ddim_eta_spacing.gp
if (!exists("outfile")) outfile = 'ddim_eta_spacing.png'
set terminal pngcairo size 800,500 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_eta_spacing.dat'
set title 'DDIM with the exact denoiser: distance to the data law against steps (mean of 6 draws)'
set logscale xy; set xlabel 'steps K (network evaluations)'; set ylabel 'sliced W1 to the data law'
set key top right; set xrange [4:250]
fl = 0.0206733; fsd = 0.00701252
plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (100 pairs)', \
     fl with lines lc rgb 'black' dt 3 notitle, \
     for [e=0:2] dat index 2*e using 1:2:3 with yerrorlines lw 2 pt 7 lc e+1 title sprintf('eta = %.1f, uniform', e*0.5), \
     for [e=0:2] dat index 2*e+1 using 1:2:3 with yerrorlines lw 2 dt 2 pt 6 lc e+1 title sprintf('eta = %.1f, quadratic', e*0.5)
