/* Startup for the ARM MPS2 boards QEMU emulates (AN385 Cortex-M3, AN386
 * Cortex-M4F, AN500 Cortex-M7): vector table, .data copy, .bss zero, FPU
 * enable, then main(); its return value leaves through semihosting. */
#include <stdint.h>

#include "../common/semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
/* Interrupt 0 (UART0 receive): a device agent defines it (firmware/mps2/uart.c). */
void UART0_RX_Handler(void) __attribute__((weak, alias("Default_Handler")));

void Default_Handler(void) {}

void Reset_Handler(void) {
  uint32_t* src = &_sidata;
  for (uint32_t* dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t* dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
  /* CPACR: full access to CP10 and CP11 (the FPU). */
  *(volatile uint32_t*)0xE000ED88 |= (0xFu << 20);
  __asm__ volatile("dsb\n isb" ::: "memory");
#endif
  tml_sh_exit(main());
}

void Fault_Handler(void) {
  tml_sh_write0("fault: the firmware crashed\n");
  tml_sh_exit(99);
}

__attribute__((section(".isr_vector"), used))
const void* const tml_vectors[17] = {&_estack,
                                     (void*)Reset_Handler,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     0,
                                     0,
                                     0,
                                     0,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     0,
                                     (void*)Fault_Handler,
                                     (void*)Fault_Handler,
                                     (void*)UART0_RX_Handler};
