// Vector constants, kept in static memory (below the host's first allocation) and loaded once before
// each loop. A v128.const written inside a loop is rebuilt by V8 on every iteration (3 to 4
// instructions each), and binaryen folds constants held in locals back into the loop; a value loaded
// from memory before the loop stays in a register instead.

const BASE = memory.data(64, 16);
export const C_NIBBLE: usize = BASE; // 0x0f in every byte
export const C_FP4X2: usize = BASE + 16; // FP4 code -> 2 * value as i8
export const C_FP4X2P12: usize = BASE + 32; // FP4 code -> 2 * value + 12 (0..24)
export const C_HIGH16: usize = BASE + 48; // 0xffff0000 in every i32 lane

/** Writes the constants; the host calls it once after instantiation (idempotent). */
export function initConstants(): void {
  v128.store(C_NIBBLE, i8x16.splat(0x0f));
  v128.store(C_FP4X2, i8x16(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12));
  v128.store(C_FP4X2P12, i8x16(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
  v128.store(C_HIGH16, i32x4.splat(0xffff0000));
}

/** End of the module's static data: the host allocates above it (and above 64 KiB). */
export function staticEnd(): usize {
  return __heap_base;
}
