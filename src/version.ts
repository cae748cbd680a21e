// The release number, apart from the server so that commands which only talk HTTP (`lazaret dlq`) start
// without loading the engine, SQLite and fastify.
export const VERSION = '0.1.0';
