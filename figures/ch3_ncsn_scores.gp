# ch3_ncsn_scores.gp: renders ch3_ncsn_scores.png from ch3_ncsn_scores.dat. Re-render with:  cd figures && gnuplot ch3_ncsn_scores.gp
if (!exists("outfile")) outfile = 'ch3_ncsn_scores.png'
set terminal pngcairo size 1400,960 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_ncsn_scores.dat'
set multiplot layout 2,3 title "Noise-conditional score σ s(x, σ) over log p_{σ} (grey): exact (top) and learned (bottom)\narrows: unit direction; colour: |σ s| from yellow (≤ 0.03) through orange (0.3) to dark red (≥ 3), log scale"
u(m) = (m < 0.03 ? 0 : m > 3 ? 1 : (log10(m) + 1.5) / 2)   # |v| -> [0, 1] on the log scale
ramp(u, a, b) = int(a + u * (b - a) + 0.5)
col(m) = u(m) < 0.5 ? 65536 * ramp(2 * u(m), 254, 240) + 256 * ramp(2 * u(m), 217, 101) + ramp(2 * u(m), 118, 72) : \
                      65536 * ramp(2 * u(m) - 1, 240, 103) + 256 * ramp(2 * u(m) - 1, 101, 0) + ramp(2 * u(m) - 1, 72, 13)
set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; unset key; unset colorbox
set xtics 2; set ytics 2; set palette defined (0 'white', 1 '#f0f0f0', 2 '#bdbdbd', 3 '#737373'); set cbrange [-12:1]
set title 'exact σ ∇ log p_σ, sigma = 6.00'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
set title 'exact σ ∇ log p_σ, sigma = 0.42'
plot dat index 3 using 1:2:3 with image, '' index 4 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
set title 'exact σ ∇ log p_σ, sigma = 0.05'
plot dat index 6 using 1:2:3 with image, '' index 7 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
set title 'learned σ s_θ(x, σ), sigma = 6.00'
plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
set title 'learned σ s_θ(x, σ), sigma = 0.42'
plot dat index 3 using 1:2:3 with image, '' index 5 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
set title 'learned σ s_θ(x, σ), sigma = 0.05'
plot dat index 6 using 1:2:3 with image, '' index 8 using 1:2:3:4:(col($5)) with vectors head size 0.09,25 filled lw 1.5 lc rgb variable
unset multiplot
