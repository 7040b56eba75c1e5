CREATE TABLE "group_changes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"actor_id" uuid NOT NULL,
	"user_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"names" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"title" text,
	"after_seq" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "group_changes_kind_check" CHECK ("group_changes"."kind" in ('created', 'renamed', 'added', 'left'))
);
--> statement-breakpoint
ALTER TABLE "group_changes" ADD CONSTRAINT "group_changes_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_changes" ADD CONSTRAINT "group_changes_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "group_changes_conversation_idx" ON "group_changes" USING btree ("conversation_id","after_seq");