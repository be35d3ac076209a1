/* CMSDK APB timer 0 of the MPS2 boards as a free-running 32-bit counter at
 * 25 MHz. Under QEMU -icount the virtual clock advances a fixed time per
 * instruction, so differences of these readings count instructions exactly
 * and identically on every run. */
#include <stdint.h>

#define TML_TIMER0_CTRL (*(volatile uint32_t*)0x40000000u)
#define TML_TIMER0_VALUE (*(volatile uint32_t*)0x40000004u)
#define TML_TIMER0_RELOAD (*(volatile uint32_t*)0x40000008u)

void tml_timer_start(void) {
  TML_TIMER0_CTRL = 0;
  TML_TIMER0_RELOAD = 0xFFFFFFFFu;
  TML_TIMER0_VALUE = 0xFFFFFFFFu;
  TML_TIMER0_CTRL = 1; /* enable */
}

uint32_t tml_timer_ticks(void) {
  __asm__ volatile("" ::: "memory");
  const uint32_t v = 0xFFFFFFFFu - TML_TIMER0_VALUE;
  __asm__ volatile("" ::: "memory");
  return v;
}
