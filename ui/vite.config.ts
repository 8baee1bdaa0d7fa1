// Vite builds the UI into ui/dist, which the Tauri app embeds; vitest runs the unit tests
// in jsdom. WebKitGTK is the webview on Linux, hence the Safari target.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: ['es2021', 'safari15'],
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
});
