# ddim_softmin.gp: renders ddim_softmin.png from ddim_softmin.dat. Re-render with:  cd figures && gnuplot ddim_softmin.gp
if (!exists("outfile")) outfile = 'ddim_softmin.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_softmin.dat'
set multiplot layout 1,2 title 'The denoiser is a gradient step: z - D_σ(z) = ∇f_σ(z), f_σ = -σ^2 log mean_i exp(-|z - x_i|^2/2σ^2) (unit circle, z = (u, 0))'
array S[4] = [0.05, 0.2, 0.5, 1]
set xlabel 'u'; set xrange [-2:2]; set key top center font ',9'
set title 'soft-min squared distance f_σ vs dist^2/2 (the Moreau envelope)'; set ylabel 'f'; set yrange [0:1.6]
plot dat index 0 using 1:3 with lines lw 4 lc rgb 'black' title 'dist(z, data)^2 / 2', \
     for [k=0:3] dat index k using 1:2 with lines lw 2 lc k+1 title sprintf('f_σ, σ = %g', S[k+1])
set title 'gradient: finite differences of f_σ (lines) = z - D_σ(z) (points)'; set ylabel 'x-component'; set yrange [-1.3:1.3]; set key bottom right
plot for [k=0:3] dat index k using 1:4 with lines lw 2 lc k+1 title sprintf('∂f_σ/∂u, σ = %g', S[k+1]), \
     for [k=0:3] dat index k every 12 using 1:5 with points pt 6 ps 0.9 lc k+1 notitle, \
     dat index 0 using 1:($1 - ($1 > 0 ? 1 : -1)) with lines dt 2 lw 2 lc rgb 'black' title 'z - proj(z)'
unset multiplot
