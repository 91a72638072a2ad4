set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.007653, graph 0 to 3.007653, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 down' at 3.107653, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.000998, graph 0 to 8.000998, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.100998, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.003398, graph 0 to 12.003398, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 1 down (coordinator)' at 12.103398, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.000204, graph 0 to 15.000204, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.100204, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.012835, graph 0 to 17.012835, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 down (coordinator)' at 17.112835, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.003865, graph 0 to 20.003865, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.103865, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 22.008012, graph 0 to 22.008012, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 3 down (coordinator)' at 22.108012, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.000602, graph 0 to 25.000602, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.100602, graph 0.97 rotate by -90 font 'sans,8'
plot 'docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
