"""Fractal noise, one octave at a time: fBm is gradient noise summed over octaves.

Algorithm (fractional Brownian motion, as in :func:`procgen.noise.fbm`): octave ``k`` is
gradient (Perlin-style) noise on a lattice ``lacunarity**k`` times finer than the first, with
amplitude ``persistence**k``; their sum is the fractal field. The first octave gives the broad
shape of continents; each next one adds detail half the size and half as strong, until the
finest octaves only roughen the coast.

Left: ``fbm(octaves=k)`` drawn as terrain (sea below 0); right: what octave ``k`` added,
``fbm(octaves=k) - fbm(octaves=k - 1)``. Run ``python -m demos.octaves [--octaves 8]``; it
steps through the octaves on its own; Right/Left or Space step by hand, Esc quits. Headless:
``--frames 13 --screenshot octave4.png`` (four frames per octave).
"""

from __future__ import annotations

import sys

import numpy as np

from demos import _cli

__all__ = ["octave_stack", "main"]


def octave_stack(shape, *, octaves: int, scale: float, seed: int, persistence: float = 0.5,
                 lacunarity: float = 2.0) -> list[np.ndarray]:
    """``fbm`` of ``shape`` with 1, 2, ..., ``octaves`` octaves (same seed and settings)."""
    from procgen.noise import fbm

    return [fbm(shape, scale=scale, octaves=k, persistence=persistence,
                lacunarity=lacunarity, seed=seed) for k in range(1, octaves + 1)]


def _terrain(field: np.ndarray) -> np.ndarray:
    """Field in [-1, 1] as a shaded map: 2500 m of relief, a little more land than sea."""
    from procgen.render import render_map

    return render_map(field * np.float32(2500.0) + np.float32(150.0), cell_size=120.0)


def _detail(delta: np.ndarray) -> np.ndarray:
    """What one octave added, as grey (mid grey = nothing added), scaled to its own range."""
    peak = max(float(np.abs(delta).max()), 1e-6)
    g = np.clip(127.5 + 127.5 * delta / peak, 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def _parser():
    p = _cli.parser("octaves", "python -m demos.octaves", __doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--octaves", type=int, default=8, help="octaves, 1..30")
    p.add_argument("--size", type=int, default=400, help="pixels per side of each panel, "
                                                         "32..2048")
    p.add_argument("--scale", type=float, default=256.0,
                   help="lattice cell of the first octave, in pixels, > 0")
    p.add_argument("--persistence", type=float, default=0.5)
    p.add_argument("--lacunarity", type=float, default=2.0)
    p.add_argument("--hold", type=float, default=1.2,
                   help="seconds per octave (with --frames: 4 frames per octave)")
    _cli.add_headless_options(p)
    return p


def _prepare(args) -> list[np.ndarray]:
    from procgen._validate import check_float, check_int

    check_int("--octaves", args.octaves, lo=1, hi=30)
    check_int("--size", args.size, lo=32, hi=2048)
    check_float("--scale", args.scale, lo=0.0, lo_open=True)
    check_float("--hold", args.hold, lo=0.0, lo_open=True)
    return octave_stack((args.size, args.size), octaves=args.octaves, scale=args.scale,
                        seed=args.seed, persistence=args.persistence,
                        lacunarity=args.lacunarity)


def _play(args, fields) -> None:
    import pygame

    pygame.display.init()
    pygame.font.init()
    n, pad, top = args.size, 16, 44
    screen = pygame.display.set_mode((2 * n + 3 * pad, n + top + pad + 28))
    pygame.display.set_caption("fractal noise, octave by octave")
    font = pygame.font.Font(None, 24)

    def surface(rgb):  # numpy (rows, cols, 3) -> Surface (x = col)
        return pygame.surfarray.make_surface(np.ascontiguousarray(rgb.swapaxes(0, 1)))

    panels = []
    for k, f in enumerate(fields):
        added = f if k == 0 else f - fields[k - 1]
        panels.append((surface(_terrain(f)), surface(_detail(added))))
    clock = pygame.time.Clock()
    frames = args.frames
    k, frame, t, running = 0, 0, 0.0, True
    while running and (frames is None or frame < frames):
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN
                                             and event.key == pygame.K_ESCAPE):
                running = False
            elif event.type == pygame.KEYDOWN and event.key in (pygame.K_RIGHT, pygame.K_SPACE):
                k, t = (k + 1) % len(panels), 0.0
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_LEFT:
                k, t = (k - 1) % len(panels), 0.0
        dt = clock.tick(60 if frames is None else 0) / 1000.0
        # t in octaves held; headless, a frame is exactly a quarter, so runs are reproducible
        t += dt / args.hold if frames is None else 0.25
        if t >= 1.0:
            k, t = (k + 1) % len(panels), 0.0
        screen.fill((18, 22, 30))
        cell = args.scale / args.lacunarity ** k
        title = (f"octave {k + 1} of {len(panels)}: lattice cell {cell:.3g} px, amplitude "
                 f"{args.persistence ** k:.3g}")
        screen.blit(font.render(title, True, (235, 235, 235)), (pad, 14))
        screen.blit(panels[k][0], (pad, top))
        screen.blit(panels[k][1], (2 * pad + n, top))
        screen.blit(font.render(f"fbm(octaves={k + 1})", True, (150, 156, 166)),
                    (pad, top + n + 6))
        screen.blit(font.render(f"added by octave {k + 1}", True, (150, 156, 166)),
                    (2 * pad + n, top + n + 6))
        pygame.display.flip()
        frame += 1
    if args.screenshot:
        print(f"saved {_cli.save_screenshot(screen, args.screenshot)}")
    pygame.display.quit()


def main(argv=None) -> int:
    """Run the demo window; ``argv`` excludes the program name (``--frames N`` stops after
    N frames). Returns the exit status: 0, or 2 after a one-line error for a bad option."""
    return _cli.run(_parser(), argv, prepare=_prepare, play=_play)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
