// Builds the dashboard into dist/web, which `lazaret serve` hands out (src/http/routes/dashboard.ts).
// Paths are relative to the package root, where npm runs the build script.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  root: 'web',
  base: './',
  plugins: [preact()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    reportCompressedSize: false,
  },
});
