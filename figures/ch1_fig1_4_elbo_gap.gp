# ch1_fig1_4_elbo_gap.gp: renders ch1_fig1_4_elbo_gap.png from ch1_fig1_4_elbo_gap.dat. Re-render with:  cd figures && gnuplot ch1_fig1_4_elbo_gap.gp
if (!exists("outfile")) outfile = 'ch1_fig1_4_elbo_gap.png'
set terminal pngcairo size 1200,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_fig1_4_elbo_gap.dat'
set multiplot layout 1,2 title 'Theorem 1.1, exact: z ∼ N(0,1), x | z ∼ N(2z, 0.5), x = 1.5. The gap log p(x) - ELBO(q) is KL(q || p(z|x))'
set key bottom right; set ylabel 'nats'; set yrange [-6:3]
set xlabel 'mean of q (sd fixed at the posterior sd)'; set title 'moving q(z|x) = N(m_q, s^2)'
plot dat index 0 using 1:2 with lines lw 3 lc rgb 'black' title 'log p(x)', \
     '' index 0 using 1:3 with lines lw 2 lc rgb '#3182bd' title 'ELBO(q)', \
     '' index 0 using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL(q || p(z|x))', \
     '' index 0 every 10 using 1:5 with points pt 6 ps 1.2 lc rgb '#31a354' title 'ELBO + KL'
set xlabel 'sd of q (mean fixed at the posterior mean)'; set logscale x; set xrange [0.03:3.5]; set title 'widening / narrowing q'
plot dat index 1 using 1:2 with lines lw 3 lc rgb 'black' title 'log p(x)', \
     '' index 1 using 1:3 with lines lw 2 lc rgb '#3182bd' title 'ELBO(q)', \
     '' index 1 using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL(q || p(z|x))', \
     '' index 1 every 10 using 1:5 with points pt 6 ps 1.2 lc rgb '#31a354' title 'ELBO + KL'
unset multiplot
