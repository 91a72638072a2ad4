set terminal pngcairo size 1000,500 font 'sans,10'
set output '/work/main/docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.008039, graph 0 to 3.008039, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 crashed' at 3.108039, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.003485, graph 0 to 8.003485, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.103485, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.185565, graph 0 to 12.185565, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 1 stopped (coordinator)' at 12.285565, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.007182, graph 0 to 15.007182, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.107182, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.283498, graph 0 to 17.283498, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 stopped (coordinator)' at 17.383498, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.001457, graph 0 to 20.001457, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.101457, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 23.291238, graph 0 to 23.291238, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 3 stopped' at 23.391238, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.002026, graph 0 to 25.002026, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.102026, graph 0.97 rotate by -90 font 'sans,8'
plot '/work/main/docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
