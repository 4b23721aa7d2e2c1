import subprocess, time, signal, sys, os
env = dict(os.environ, NO_COLOR="1")
p = subprocess.Popen(["/tmp/td-venv/bin/trustdoctor", "scan", "silent.txt", "--format", "jsonl", "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
time.sleep(1.5)
t0 = time.perf_counter(); p.send_signal(getattr(signal, sys.argv[1])); out, err = p.communicate(timeout=60)
print(sys.argv[1], "rc", p.returncode, "exit after", round(time.perf_counter() - t0, 2), "s;", len(out.splitlines()), "stdout lines;", err.decode().splitlines()[-3:] if err else "")
