/* CMSDK APB UART0 of the MPS2 boards (0x40004000): polled transmit, receive woken by
 * its RX interrupt (IRQ 0) so an idle device sleeps in WFI instead of spinning. */
#include "../common/uart.h"

#include <stdint.h>

#define UART0_DATA (*(volatile uint32_t*)0x40004000u)
#define UART0_STATE (*(volatile uint32_t*)0x40004004u)
#define UART0_CTRL (*(volatile uint32_t*)0x40004008u)
#define UART0_INTCLEAR (*(volatile uint32_t*)0x4000400Cu)
#define UART0_BAUDDIV (*(volatile uint32_t*)0x40004010u)
#define NVIC_ISER0 (*(volatile uint32_t*)0xE000E100u)

void tml_uart_init(void) {
  UART0_BAUDDIV = 16;
  UART0_CTRL = 1u | 2u | 8u; /* TX, RX, RX interrupt */
  NVIC_ISER0 = 1u;           /* IRQ 0: UART0 RX */
}

void tml_uart_write(const void* data, uint32_t n) {
  const uint8_t* p = (const uint8_t*)data;
  uint32_t i;
  for (i = 0; i < n; ++i) {
    while (UART0_STATE & 1u) {
    }
    UART0_DATA = p[i];
  }
}

int tml_uart_read(void) {
  return (UART0_STATE & 2u) ? (int)(UART0_DATA & 0xFFu) : -1;
}

void tml_uart_wait(void) {
  __asm__ volatile("cpsid i" ::: "memory");
  if (!(UART0_STATE & 2u)) __asm__ volatile("wfi" ::: "memory");
  __asm__ volatile("cpsie i" ::: "memory");
}

void UART0_RX_Handler(void) {
  UART0_INTCLEAR = 2u;
}
