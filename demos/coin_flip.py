"""The coin-flip river, step by step: walk forward, flip a coin, turn left or right, repeat.

Algorithm (the hand-written river generator of :func:`procgen.walkers.coin_flip`): every
walker keeps a heading; at each step it flips a fair coin, turns left by ``turn`` on heads
and right on tails, then moves one increment forward. After ``j`` steps the heading is the
start heading plus ``(heads - tails) * turn``, so nothing drifts; the path wanders like a
river but never learns where downhill is (compare rivers 2 and 5 in ``demos.explore``).

The coins are drawn exactly as the library draws them (64 flips from each random 64-bit
word), so the walk drawn here is, point for point, ``procgen.walkers.coin_flip`` with the
same seed (``tests/test_demos.py`` checks it).

Run ``python -m demos.coin_flip [--seed 3] [--walkers 6] [--turn 18]``; Space pauses, N
starts new walkers, Esc quits. Headless: ``--frames 200 --screenshot walk.png``.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from demos import _cli

__all__ = ["coins", "heads", "advance", "walk", "main"]


def coins(seed: int, walkers: int, steps: int) -> np.ndarray:
    """Draw every coin up front, as ``procgen.walkers.coin_flip`` does: ``(walkers,
    ceil(steps / 64))`` uint64 words, walker ``i``'s flip ``j`` in bit ``j % 64`` of word
    ``j // 64``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2 ** 64, size=(walkers, (steps + 63) // 64), dtype=np.uint64)


def heads(words: np.ndarray, i: int, j: int) -> bool:
    """Flip ``j`` of walker ``i``: heads (True) turns left."""
    return bool((int(words[i, j // 64]) >> (j % 64)) & 1)


def advance(row: float, col: float, lefts_minus_rights: int, *, turn: float,
            step: float = 1.0, heading: float = 0.0) -> tuple[float, float]:
    """One step forward after the turn. Headings are counter-clockwise from east on a map
    drawn north-up (rows grow southward), as everywhere in procgen."""
    phi = heading + lefts_minus_rights * turn
    return row - step * math.sin(phi), col + step * math.cos(phi)


def walk(seed: int, walkers: int, steps: int, *, turn: float) -> np.ndarray:
    """The whole walk in plain Python: ``(walkers, steps + 1, 2)`` ``(row, col)``, from 0."""
    words = coins(seed, walkers, steps)
    out = np.zeros((walkers, steps + 1, 2))
    for i in range(walkers):
        k, r, c = 0, 0.0, 0.0
        for j in range(steps):
            k += 1 if heads(words, i, j) else -1
            r, c = advance(r, c, k, turn=turn)
            out[i, j + 1] = r, c
    return out


def _parser():
    p = _cli.parser("coin_flip", "python -m demos.coin_flip", __doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=3, help="seed of the first walkers, >= 0")
    p.add_argument("--walkers", type=int, default=6, help="walkers, 1..64")
    p.add_argument("--steps", type=int, default=420,
                   help="steps per walker before a restart, 1..100000")
    p.add_argument("--turn", type=float, default=18.0, help="turn per flip, degrees, 0..180")
    p.add_argument("--speed", type=int, default=2, help="steps drawn per frame, >= 1")
    _cli.add_headless_options(p)
    return p


def _prepare(args) -> None:
    from procgen._validate import check_float, check_int

    check_int("--seed", args.seed, lo=0, hi=(1 << 64) - 1)
    check_int("--walkers", args.walkers, lo=1, hi=64)
    check_int("--steps", args.steps, lo=1, hi=100_000)
    check_float("--turn", args.turn, lo=0.0, hi=180.0)
    check_int("--speed", args.speed, lo=1)


def _play(args, _) -> None:
    import pygame

    pygame.display.init()
    pygame.font.init()
    size = (960, 600)
    screen = pygame.display.set_mode(size)
    pygame.display.set_caption("coin-flip river walkers")
    font = pygame.font.Font(None, 24)
    trail = pygame.Surface(size)
    colours = [(86, 160, 230), (240, 170, 80), (120, 210, 140), (230, 110, 140),
               (180, 150, 240), (220, 220, 120)]
    turn = math.radians(args.turn)
    px = 4.0  # screen pixels per step
    clock = pygame.time.Clock()
    frames = args.frames
    seed, paused, frame = args.seed, False, 0

    def restart(seed):
        trail.fill((18, 22, 30))
        words = coins(seed, args.walkers, args.steps)
        # Start a third of the way in, spread north-south, heading east (heading 0).
        rows = [(i + 0.5) * size[1] / args.walkers for i in range(args.walkers)]
        return words, [[0, r, size[0] / 3] for r in rows], 0

    words, state, j = restart(seed)
    last = "flip the coins"
    running = True
    while running and (frames is None or frame < frames):
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN
                                             and event.key == pygame.K_ESCAPE):
                running = False
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE:
                paused = not paused
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_n:
                seed += 1
                words, state, j = restart(seed)
        for _ in range(0 if paused else args.speed):
            if j >= args.steps:
                seed += 1
                words, state, j = restart(seed)
            for i, s in enumerate(state):
                flip = heads(words, i, j)
                s[0] += 1 if flip else -1
                r, c = advance(s[1], s[2], s[0], turn=turn, step=px)
                pygame.draw.line(trail, colours[i % len(colours)], (s[2], s[1]), (c, r), 2)
                s[1], s[2] = r, c
                if i == 0:
                    last = (f"step {j + 1}: walker 1 flips {'HEADS' if flip else 'TAILS'}"
                            f" -> turn {'left' if flip else 'right'} {args.turn:g} deg, then "
                            f"step forward")
            j += 1
        screen.blit(trail, (0, 0))
        for i, s in enumerate(state):
            pygame.draw.circle(screen, (255, 255, 255), (round(s[2]), round(s[1])), 4)
        screen.blit(font.render(last, True, colours[0]), (12, 10))  # walker 1's colour
        screen.blit(font.render(f"seed {seed}   Space: pause   N: new walkers   Esc: quit",
                                True, (150, 156, 166)), (12, size[1] - 28))
        pygame.display.flip()
        frame += 1
        clock.tick(60 if frames is None else 0)
    if args.screenshot:
        print(f"saved {_cli.save_screenshot(screen, args.screenshot)}")
    pygame.display.quit()


def main(argv=None) -> int:
    """Run the demo window; ``argv`` excludes the program name (``--frames N`` stops after
    N frames). Returns the exit status: 0, or 2 after a one-line error for a bad option."""
    return _cli.run(_parser(), argv, prepare=_prepare, play=_play)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
