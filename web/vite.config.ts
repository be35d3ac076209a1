import { defineConfig } from "vite";

// Relative asset paths: the built files work from any mount point of `serve --web`.
export default defineConfig({ base: "./", build: { outDir: "dist", emptyOutDir: true } });
