DROP INDEX "conversations_updated_idx";--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "member_version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "event_clock" ADD COLUMN "log_id" uuid DEFAULT gen_random_uuid() NOT NULL;