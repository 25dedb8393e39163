"""A tiny game on a Level: walk the land, keep out of deep water, cross rivers at fords.

The idea: game code reads a :class:`procgen.Level` directly, with no viewer and no torch.
Everything the game knows about the world comes from a few small functions over the Level's
arrays, written the way game code would write them:

* :func:`water_depth`: metres of water on each cell (sea: below sea level; lake: below the
  lake's highest bed cell, i.e. its shore);
* :func:`river_width`: metres of river on each cell (rivers are polylines; their cells come
  from :func:`procgen.rivers.river_cells`);
* :func:`classify`: every cell is ``LAND``, a ``FORD`` (a river narrower than ``ford_width``
  or water shallower than ``ford_depth``, 1.5 m) or ``BLOCKED`` (deep water, wide rivers);
* :func:`try_move`: a step succeeds unless it leaves the map or enters a blocked cell.

Run ``python -m demos.tiny_game``: arrows or WASD walk (one cell, 2 km, per step), N makes a
new world, Esc quits; ``--auto`` lets the walker wander by itself. Headless:
``--auto --frames 120 --screenshot fords.png``.
"""

from __future__ import annotations

import sys

import numpy as np

from demos import _cli

__all__ = ["LAND", "FORD", "BLOCKED", "water_depth", "river_width", "classify", "can_enter",
           "try_move", "spawn", "wander", "main"]

LAND, FORD, BLOCKED = 0, 1, 2


def water_depth(level) -> np.ndarray:
    """float32 metres of water per cell: 0 on land."""
    depth = np.zeros(level.shape, np.float32)
    sea = level.water & (level.lakes == 0)
    depth[sea] = np.maximum(-level.height[sea], 0.0)
    if level.lakes.any():
        # A lake's surface is at its highest bed cell, so its shore is shallow.
        surface = np.full(int(level.lakes.max()) + 1, -np.inf, np.float32)
        np.maximum.at(surface, level.lakes[level.lakes > 0], level.height[level.lakes > 0])
        lake = level.lakes > 0
        depth[lake] = surface[level.lakes[lake]] - level.height[lake]
    return depth


def river_width(level) -> np.ndarray:
    """float32 metres of river per cell (the widest river there): 0 off rivers."""
    from procgen.rivers import river_cells

    width = np.zeros(level.shape, np.float32)
    for river in level.rivers:
        cells, w = river_cells(river, level.shape)
        np.maximum.at(width, (cells[:, 0], cells[:, 1]), w)
    return width


def classify(level, *, ford_depth: float = 1.5, ford_width: float = 20.0) -> np.ndarray:
    """int8 ``LAND`` / ``FORD`` / ``BLOCKED`` per cell.

    A ford is a river cell whose river is narrower than ``ford_width`` metres, or a water
    cell shallower than ``ford_depth`` metres; wider rivers and deeper water block.
    """
    kinds = np.full(level.shape, LAND, np.int8)
    width = river_width(level)
    kinds[(width > 0) & (width < ford_width)] = FORD
    kinds[width >= ford_width] = BLOCKED
    depth = water_depth(level)
    kinds[level.water & (depth < ford_depth)] = FORD
    kinds[level.water & (depth >= ford_depth)] = BLOCKED
    return kinds


def can_enter(kinds: np.ndarray, row: int, col: int) -> bool:
    """True if ``(row, col)`` is on the map and not blocked."""
    return 0 <= row < kinds.shape[0] and 0 <= col < kinds.shape[1] and kinds[row, col] != BLOCKED


def try_move(pos: tuple[int, int], step: tuple[int, int], kinds: np.ndarray) -> tuple[int, int]:
    """Where a step from ``pos`` by ``(drow, dcol)`` ends: the new cell, or ``pos`` if blocked."""
    row, col = pos[0] + step[0], pos[1] + step[1]
    return (row, col) if can_enter(kinds, row, col) else pos


def spawn(kinds: np.ndarray) -> tuple[int, int]:
    """The land cell nearest the middle of the map (start of the game)."""
    rows, cols = np.nonzero(kinds == LAND)
    if len(rows) == 0:
        raise ValueError("this level has no land to stand on")
    k = np.argmin((rows - kinds.shape[0] / 2) ** 2 + (cols - kinds.shape[1] / 2) ** 2)
    return int(rows[k]), int(cols[k])


def wander(pos, kinds, rng: np.random.Generator) -> tuple[int, int]:
    """One step of a computer walker: a random allowed neighbour (or stay)."""
    steps = [s for s in ((-1, 0), (1, 0), (0, -1), (0, 1))
             if try_move(pos, s, kinds) != pos]
    if not steps:
        return pos
    return try_move(pos, steps[rng.integers(len(steps))], kinds)


def _describe(level, kinds, depth, width, pos) -> str:
    r, c = pos
    if kinds[r, c] == FORD and width[r, c] > 0:
        return f"fording a river {width[r, c]:.0f} m wide"
    if kinds[r, c] == FORD:
        return f"wading through {depth[r, c]:.1f} m of water"
    return f"on land at {level.height[r, c]:.0f} m"


#: The map: cells and screen pixels per cell (one cell is 2 km).
ROWS, COLS, CELL_PX, CELL_SIZE = 90, 140, 6, 2000.0


def _parser():
    from procgen.terrain import PRESETS

    p = _cli.parser("tiny_game", "python -m demos.tiny_game", __doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=7, help="seed of the first world, >= 0")
    p.add_argument("--preset", default="lowlands", metavar="NAME",
                   help=f"terrain preset, one of: {', '.join(PRESETS)}")
    p.add_argument("--auto", action="store_true", help="the walker wanders by itself")
    _cli.add_headless_options(p)
    return p


def _world(seed: int, preset: str):
    import procgen

    return procgen.generate_level(seed=seed, shape=(ROWS, COLS), cell_size=CELL_SIZE,
                                  preset=preset)


def _prepare(args):
    from procgen._validate import check_int
    from procgen.terrain import PRESETS

    check_int("--seed", args.seed, lo=0, hi=(1 << 64) - 1)
    if args.preset not in PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(PRESETS)}, got {args.preset!r}")
    return _world(args.seed, args.preset)


def _play(args, level) -> None:
    import pygame

    rows, cols, cell_px = ROWS, COLS, CELL_PX
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode((cols * cell_px, rows * cell_px + 30))
    pygame.display.set_caption("tiny game: find the fords")
    font = pygame.font.Font(None, 22)
    seed = args.seed
    rng = np.random.default_rng(seed)

    def world(level):
        kinds = classify(level)
        rgb = level.render()
        fords = kinds == FORD
        # Fords in pale blue, so the crossings (and the wide, dark rivers) stand out.
        rgb[fords] = (0.35 * rgb[fords] + 0.65 * np.array([175, 225, 250])).astype(np.uint8)
        surf = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.swapaxes(0, 1)))
        return (kinds, water_depth(level), river_width(level),
                pygame.transform.scale(surf, (cols * cell_px, rows * cell_px)))

    kinds, depth, width, backdrop = world(level)
    pos = spawn(kinds)
    moves = {pygame.K_UP: (-1, 0), pygame.K_w: (-1, 0), pygame.K_DOWN: (1, 0),
             pygame.K_s: (1, 0), pygame.K_LEFT: (0, -1), pygame.K_a: (0, -1),
             pygame.K_RIGHT: (0, 1), pygame.K_d: (0, 1)}
    clock = pygame.time.Clock()
    frames = args.frames
    frame, running, note = 0, True, ""
    while running and (frames is None or frame < frames):
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN
                                             and event.key == pygame.K_ESCAPE):
                running = False
            elif event.type == pygame.KEYDOWN and event.key in moves:
                new = try_move(pos, moves[event.key], kinds)
                note = "" if new != pos else "blocked: deep water or a wide river"
                pos = new
            elif event.type == pygame.KEYDOWN and event.key == pygame.K_n:
                seed += 1
                level = _world(seed, args.preset)
                kinds, depth, width, backdrop = world(level)
                pos = spawn(kinds)
        if args.auto and frame % 4 == 0:
            pos = wander(pos, kinds, rng)
        screen.blit(backdrop, (0, 0))
        centre = (pos[1] * cell_px + cell_px // 2, pos[0] * cell_px + cell_px // 2)
        pygame.draw.circle(screen, (20, 20, 20), centre, cell_px)
        pygame.draw.circle(screen, (235, 70, 60), centre, cell_px - 2)
        pygame.draw.rect(screen, (18, 22, 30), (0, rows * cell_px, cols * cell_px, 30))
        text = (f"{_describe(level, kinds, depth, width, pos)}   {note or 'pale blue: fords'}")
        screen.blit(font.render(text, True, (235, 235, 235)), (8, rows * cell_px + 8))
        pygame.display.flip()
        frame += 1
        clock.tick(30 if frames is None else 0)
    if args.screenshot:
        print(f"saved {_cli.save_screenshot(screen, args.screenshot)}")
    pygame.display.quit()


def main(argv=None) -> int:
    """Run the game window; ``argv`` excludes the program name (``--frames N`` stops after
    N frames). Returns the exit status: 0, or 2 after a one-line error for a bad option."""
    return _cli.run(_parser(), argv, prepare=_prepare, play=_play)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
