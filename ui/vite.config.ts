import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The app loads ui/dist from disk (tauri.conf.json: frontendDist), so the
// build is plain static files with relative paths.
export default defineConfig({
  base: './',
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  clearScreen: false,
});
