#!/usr/bin/env python3
"""tone_check.py WAV FREQ LEVEL_DBFS [--tol-pct 2] [--tol-db 3] [--skip S] [--window S]
                 [--max-gap-pct P]

Checks that a 16-bit PCM WAV (mono, or the first channel) holds a steady tone of FREQ Hz at
LEVEL_DBFS, in pure Python (no numpy):
  level      dBFS of the tone, 0 dBFS = a full-scale sine (amplitude 32767): from the RMS of the
             analysed window, 20*log10(rms * sqrt(2) / 32767); also the Goertzel amplitude at the
             measured frequency (the tone alone, without noise), printed for comparison;
  frequency  from the interpolated positive-going zero crossings (with hysteresis): the mean of
             the periods within 20 % of the median one (robust to dropouts); a Goertzel search
             +-3 % around it in 0.1 % steps is printed as a cross-check;
  gaps       the share of 20 ms blocks more than 10 dB below the window's level (dropouts).
The window starts --skip seconds in (default 0.5: codec start-up, jitter buffer) and lasts
--window seconds (default: to the end, minus 0.2 s). Exit 0 when frequency, level and gaps
are within tolerance, 1 (with the reason) otherwise, 2 on a bad file."""
import argparse
import math
import struct
import sys
import wave


def read_wav(path):
    with wave.open(path, 'rb') as w:
        if w.getsampwidth() != 2:
            raise ValueError(f'{path}: {8 * w.getsampwidth()}-bit samples, want 16-bit PCM')
        ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    s = struct.unpack(f'<{len(raw) // 2}h', raw[: len(raw) // 2 * 2])
    return list(s[::ch]), rate


def zero_cross_freq(x, rate):
    """Frequency from positive-going crossings with hysteresis, interpolated times."""
    rms = math.sqrt(sum(v * v for v in x) / len(x)) or 1.0
    h = 0.3 * rms
    armed, times = False, []
    for i in range(1, len(x)):
        if x[i] < -h:
            armed = True
        elif armed and x[i - 1] < 0 <= x[i]:
            frac = -x[i - 1] / (x[i] - x[i - 1]) if x[i] != x[i - 1] else 0.0
            times.append(i - 1 + frac)
            armed = False
    if len(times) < 3:
        return 0.0
    # periods between consecutive crossings: the median one, then the mean of those near it,
    # so that a crossing lost in a concealed gap does not bend the estimate
    d = sorted(times[i + 1] - times[i] for i in range(len(times) - 1))
    med = d[len(d) // 2]
    near = [v for v in d if abs(v - med) < 0.2 * med]
    return rate * len(near) / sum(near)


def goertzel_amp(x, rate, f):
    """Amplitude of the component at f (Hann window, scaled back to a sine's amplitude)."""
    n = len(x)
    k = 2 * math.cos(2 * math.pi * f / rate)
    s1 = s2 = 0.0
    wsum = 0.0
    for i, v in enumerate(x):
        w = 0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1))
        wsum += w
        s0 = v * w + k * s1 - s2
        s2, s1 = s1, s0
    p = s1 * s1 + s2 * s2 - k * s1 * s2
    return 2 * math.sqrt(max(p, 0.0)) / wsum


def dbfs(amp):
    return 20 * math.log10(amp / 32767) if amp > 0 else -200.0


def analyse(x, rate, want_f):
    fz = zero_cross_freq(x, rate)
    # refine with Goertzel on a 0.25 s slice (cheap enough in pure Python)
    seg = x[: min(len(x), rate // 4)]
    best_f, best_a = fz, -1.0
    centre = fz if fz > 0 else want_f
    for step in range(-30, 31):
        f = centre * (1 + step / 1000)
        a = goertzel_amp(seg, rate, f)
        if a > best_a:
            best_f, best_a = f, a
    rms = math.sqrt(sum(v * v for v in x) / len(x))
    tone_amp = goertzel_amp(x, rate, best_f if fz <= 0 else fz)
    return fz, best_f, rms, tone_amp


def gap_share(x, rate, level_db):
    blk = rate // 50
    n = len(x) // blk
    if n == 0:
        return 0.0, 0
    low = 0
    for b in range(n):
        s = x[b * blk:(b + 1) * blk]
        r = math.sqrt(sum(v * v for v in s) / blk)
        if dbfs(r * math.sqrt(2)) < level_db - 10:
            low += 1
    return 100.0 * low / n, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('wav')
    ap.add_argument('freq', type=float)
    ap.add_argument('level', type=float)
    ap.add_argument('--tol-pct', type=float, default=2.0)
    ap.add_argument('--tol-db', type=float, default=3.0)
    ap.add_argument('--skip', type=float, default=0.5)
    ap.add_argument('--window', type=float, default=0.0)
    ap.add_argument('--max-gap-pct', type=float, default=10.0)
    ap.add_argument('--label', default='')
    a = ap.parse_args()
    try:
        x, rate = read_wav(a.wav)
    except (OSError, ValueError, EOFError, wave.Error) as e:
        print(f'tone_check: {e}', file=sys.stderr)
        return 2
    start = int(a.skip * rate)
    end = start + int(a.window * rate) if a.window > 0 else len(x) - int(0.2 * rate)
    x = x[start:end]
    label = f'{a.label}: ' if a.label else ''
    if len(x) < rate // 10:
        print(f'tone_check: {label}FAIL: {a.wav}: only {len(x)} samples to analyse at {rate} Hz', file=sys.stderr)
        return 1
    fz, fg, rms, tone_amp = analyse(x, rate, a.freq)
    level = dbfs(rms * math.sqrt(2))
    gaps, blocks = gap_share(x, rate, level)
    df = 100.0 * (fz - a.freq) / a.freq
    dl = level - a.level
    print(f'tone_check: {label}{a.wav}: {len(x) / rate:.2f} s at {rate} Hz: frequency {fz:.1f} Hz '
          f'(Goertzel peak {fg:.1f} Hz; want {a.freq:g}, {df:+.2f} %), level {level:.2f} dBFS '
          f'(tone alone {dbfs(tone_amp):.2f}; want {a.level:g}, {dl:+.2f} dB), '
          f'{gaps:.1f} % of {blocks} 20 ms blocks >10 dB low')
    why = []
    if abs(df) > a.tol_pct:
        why.append(f'frequency {fz:.1f} Hz is {df:+.2f} % from {a.freq:g} Hz (tolerance {a.tol_pct:g} %)')
    if abs(dl) > a.tol_db:
        why.append(f'level {level:.2f} dBFS is {dl:+.2f} dB from {a.level:g} dBFS (tolerance {a.tol_db:g} dB)')
    if gaps > a.max_gap_pct:
        why.append(f'{gaps:.1f} % of the 20 ms blocks are >10 dB below the level (dropouts; max {a.max_gap_pct:g} %)')
    if why:
        print(f'tone_check: {label}FAIL: ' + '; '.join(why), file=sys.stderr)
        return 1
    print(f'tone_check: {label}ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
