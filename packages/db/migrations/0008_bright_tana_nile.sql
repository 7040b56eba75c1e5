-- The event log in partitions (EVENT_PARTITIONS, created at start-up by ensureEventPartitions):
-- existing events become partition 0's, which goes on from the old single clock.
CREATE TABLE "event_horizon" (
	"partition" integer PRIMARY KEY NOT NULL,
	"pruned_through" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "event_partitions" (
	"partition" integer PRIMARY KEY NOT NULL,
	"value" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "partition" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "events" DROP CONSTRAINT "events_pkey";--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_partition_id_pk" PRIMARY KEY("partition","id");
