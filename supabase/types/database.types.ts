
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "flows": {
          Tables: {
            "engine_state": {
                  Row: {
                    "draining_until": string,"engine_state_id": boolean,"kick_interval_ms": number,"last_kick_at": string,"max_causation_depth": number,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "draining_until"?: string,"engine_state_id"?: boolean,"kick_interval_ms"?: number,"last_kick_at"?: string,"max_causation_depth"?: number,"updated_at"?: string
                  }
                  Update: {
                    "draining_until"?: string,"engine_state_id"?: boolean,"kick_interval_ms"?: number,"last_kick_at"?: string,"max_causation_depth"?: number,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"events": {
                  Row: {
                    "causation_depth": number,"caused_by_execution_id": string | null,"claimed_at": string | null,"claimed_by": string | null,"created_at": string,"error_message": string | null,"event_id": number,"new_row": Json | null,"old_row": Json | null,"operation": string,"processed_at": string | null,"row_key": string | null,"source_schema": string,"source_table": string
                  }
                  ComputedFields: never
                  Insert: {
                    "causation_depth"?: number,"caused_by_execution_id"?: string | null,"claimed_at"?: string | null,"claimed_by"?: string | null,"created_at"?: string,"error_message"?: string | null,"event_id"?: never,"new_row"?: Json | null,"old_row"?: Json | null,"operation": string,"processed_at"?: string | null,"row_key"?: string | null,"source_schema": string,"source_table": string
                  }
                  Update: {
                    "causation_depth"?: number,"caused_by_execution_id"?: string | null,"claimed_at"?: string | null,"claimed_by"?: string | null,"created_at"?: string,"error_message"?: string | null,"event_id"?: never,"new_row"?: Json | null,"old_row"?: Json | null,"operation"?: string,"processed_at"?: string | null,"row_key"?: string | null,"source_schema"?: string,"source_table"?: string
                  }
                  Relationships: [
                    
                  ]
                },"execution_steps": {
                  Row: {
                    "attempt": number,"branch": Json | null,"continued": boolean,"duration_ms": number | null,"error": Json | null,"error_code": string | null,"error_message": string | null,"execution_id": string,"finished_at": string | null,"input": Json | null,"logs": Json | null,"output": Json | null,"resume_at": string | null,"reused_from_attempt_id": number | null,"started_at": string,"status": string,"step_attempt_id": number,"step_id": string,"step_type": string,"tenant_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempt"?: number,"branch"?: Json | null,"continued"?: boolean,"duration_ms"?: number | null,"error"?: Json | null,"error_code"?: string | null,"error_message"?: string | null,"execution_id": string,"finished_at"?: string | null,"input"?: Json | null,"logs"?: Json | null,"output"?: Json | null,"resume_at"?: string | null,"reused_from_attempt_id"?: number | null,"started_at"?: string,"status"?: string,"step_attempt_id"?: never,"step_id": string,"step_type": string,"tenant_id": string
                  }
                  Update: {
                    "attempt"?: number,"branch"?: Json | null,"continued"?: boolean,"duration_ms"?: number | null,"error"?: Json | null,"error_code"?: string | null,"error_message"?: string | null,"execution_id"?: string,"finished_at"?: string | null,"input"?: Json | null,"logs"?: Json | null,"output"?: Json | null,"resume_at"?: string | null,"reused_from_attempt_id"?: number | null,"started_at"?: string,"status"?: string,"step_attempt_id"?: never,"step_id"?: string,"step_type"?: string,"tenant_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "execution_steps_execution_fkey"
      columns: ["execution_id","tenant_id"]
isOneToOne: false
      referencedRelation: "executions"
      referencedColumns: ["execution_id","tenant_id"]
    },{
      foreignKeyName: "execution_steps_reused_from_attempt_id_fkey"
      columns: ["reused_from_attempt_id"]
isOneToOne: false
      referencedRelation: "execution_steps"
      referencedColumns: ["step_attempt_id"]
    }
                  ]
                },"executions": {
                  Row: {
                    "attempt_count": number,"call_depth": number,"cancel_requested_at": string | null,"cancel_requested_by": string | null,"context": NonNullable<Json>,"created_at": string,"current_step_id": string | null,"error_code": string | null,"error_message": string | null,"event_id": number | null,"executed_by": string | null,"execution_id": string,"finished_at": string | null,"flow_id": string,"input": NonNullable<Json>,"lease_expires_at": string | null,"lease_owner": string | null,"parent_attempt": number | null,"parent_execution_id": string | null,"parent_step_id": string | null,"rerun_of_execution_id": string | null,"result": Json | null,"resume_at": string | null,"source_event_id": number | null,"started_at": string | null,"status": string,"step_count": number,"subject": string | null,"tenant_id": string,"trigger_type": string,"updated_at": string,"version_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempt_count"?: number,"call_depth"?: number,"cancel_requested_at"?: string | null,"cancel_requested_by"?: string | null,"context"?: NonNullable<Json>,"created_at"?: string,"current_step_id"?: string | null,"error_code"?: string | null,"error_message"?: string | null,"event_id"?: number | null,"executed_by"?: string | null,"execution_id"?: string,"finished_at"?: string | null,"flow_id": string,"input"?: NonNullable<Json>,"lease_expires_at"?: string | null,"lease_owner"?: string | null,"parent_attempt"?: number | null,"parent_execution_id"?: string | null,"parent_step_id"?: string | null,"rerun_of_execution_id"?: string | null,"result"?: Json | null,"resume_at"?: string | null,"source_event_id"?: number | null,"started_at"?: string | null,"status"?: string,"step_count"?: number,"subject"?: string | null,"tenant_id": string,"trigger_type": string,"updated_at"?: string,"version_id": string
                  }
                  Update: {
                    "attempt_count"?: number,"call_depth"?: number,"cancel_requested_at"?: string | null,"cancel_requested_by"?: string | null,"context"?: NonNullable<Json>,"created_at"?: string,"current_step_id"?: string | null,"error_code"?: string | null,"error_message"?: string | null,"event_id"?: number | null,"executed_by"?: string | null,"execution_id"?: string,"finished_at"?: string | null,"flow_id"?: string,"input"?: NonNullable<Json>,"lease_expires_at"?: string | null,"lease_owner"?: string | null,"parent_attempt"?: number | null,"parent_execution_id"?: string | null,"parent_step_id"?: string | null,"rerun_of_execution_id"?: string | null,"result"?: Json | null,"resume_at"?: string | null,"source_event_id"?: number | null,"started_at"?: string | null,"status"?: string,"step_count"?: number,"subject"?: string | null,"tenant_id"?: string,"trigger_type"?: string,"updated_at"?: string,"version_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "executions_event_id_fkey"
      columns: ["event_id"]
isOneToOne: false
      referencedRelation: "events"
      referencedColumns: ["event_id"]
    },{
      foreignKeyName: "executions_flow_fkey"
      columns: ["flow_id","tenant_id"]
isOneToOne: false
      referencedRelation: "flows"
      referencedColumns: ["flow_id","tenant_id"]
    },{
      foreignKeyName: "executions_parent_execution_id_fkey"
      columns: ["parent_execution_id"]
isOneToOne: false
      referencedRelation: "executions"
      referencedColumns: ["execution_id"]
    },{
      foreignKeyName: "executions_rerun_of_execution_id_fkey"
      columns: ["rerun_of_execution_id"]
isOneToOne: false
      referencedRelation: "executions"
      referencedColumns: ["execution_id"]
    },{
      foreignKeyName: "executions_version_fkey"
      columns: ["version_id","flow_id"]
isOneToOne: false
      referencedRelation: "versions"
      referencedColumns: ["version_id","flow_id"]
    }
                  ]
                },"flows": {
                  Row: {
                    "created_at": string,"created_by": string | null,"description": string | null,"flow_id": string,"is_active": boolean,"is_paused": boolean,"key": string,"max_concurrency": number | null,"name": string,"tenant_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"created_by"?: string | null,"description"?: string | null,"flow_id"?: string,"is_active"?: boolean,"is_paused"?: boolean,"key": string,"max_concurrency"?: number | null,"name": string,"tenant_id": string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"created_by"?: string | null,"description"?: string | null,"flow_id"?: string,"is_active"?: boolean,"is_paused"?: boolean,"key"?: string,"max_concurrency"?: number | null,"name"?: string,"tenant_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    
                  ]
                },"members": {
                  Row: {
                    "created_at": string,"role": string,"tenant_id": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"role"?: string,"tenant_id": string,"user_id": string
                  }
                  Update: {
                    "created_at"?: string,"role"?: string,"tenant_id"?: string,"user_id"?: string
                  }
                  Relationships: [
                    
                  ]
                },"rate_buckets": {
                  Row: {
                    "capacity": number,"created_at": string,"destination": string,"rate_per_second": number,"refilled_at": string,"refused_count": number,"taken_count": number,"tokens": number
                  }
                  ComputedFields: never
                  Insert: {
                    "capacity": number,"created_at"?: string,"destination": string,"rate_per_second": number,"refilled_at": string,"refused_count"?: number,"taken_count"?: number,"tokens": number
                  }
                  Update: {
                    "capacity"?: number,"created_at"?: string,"destination"?: string,"rate_per_second"?: number,"refilled_at"?: string,"refused_count"?: number,"taken_count"?: number,"tokens"?: number
                  }
                  Relationships: [
                    
                  ]
                },"v1_execution_imports": {
                  Row: {
                    "execution_id": string,"imported_at": string,"source_schema": string,"tenant_id": string,"v1_execution_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "execution_id": string,"imported_at"?: string,"source_schema": string,"tenant_id": string,"v1_execution_id": string
                  }
                  Update: {
                    "execution_id"?: string,"imported_at"?: string,"source_schema"?: string,"tenant_id"?: string,"v1_execution_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "v1_execution_imports_execution_fkey"
      columns: ["execution_id","tenant_id"]
isOneToOne: false
      referencedRelation: "executions"
      referencedColumns: ["execution_id","tenant_id"]
    }
                  ]
                },"v1_imports": {
                  Row: {
                    "flow_id": string,"imported_at": string,"source_schema": string,"tenant_id": string,"v1_flow_id": string,"version_id": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "flow_id": string,"imported_at"?: string,"source_schema": string,"tenant_id": string,"v1_flow_id": string,"version_id"?: string | null
                  }
                  Update: {
                    "flow_id"?: string,"imported_at"?: string,"source_schema"?: string,"tenant_id"?: string,"v1_flow_id"?: string,"version_id"?: string | null
                  }
                  Relationships: [
                    {
      foreignKeyName: "v1_imports_flow_fkey"
      columns: ["flow_id","tenant_id"]
isOneToOne: false
      referencedRelation: "flows"
      referencedColumns: ["flow_id","tenant_id"]
    },{
      foreignKeyName: "v1_imports_version_fkey"
      columns: ["version_id"]
isOneToOne: false
      referencedRelation: "versions"
      referencedColumns: ["version_id"]
    }
                  ]
                },"versions": {
                  Row: {
                    "archived_at": string | null,"change_notes": string | null,"created_at": string,"created_by": string | null,"definition": NonNullable<Json>,"flow_id": string,"published_at": string | null,"published_by": string | null,"rolled_back_from_version_id": string | null,"status": string,"tenant_id": string,"trigger_events": (string)[] | null,"trigger_table": string | null,"trigger_type": string | null,"version_id": string,"version_number": number
                  }
                  ComputedFields: never
                  Insert: {
                    "archived_at"?: string | null,"change_notes"?: string | null,"created_at"?: string,"created_by"?: string | null,"definition": NonNullable<Json>,"flow_id": string,"published_at"?: string | null,"published_by"?: string | null,"rolled_back_from_version_id"?: string | null,"status"?: string,"tenant_id": string,"trigger_events"?: (string)[] | null,"trigger_table"?: string | null,"trigger_type"?: string | null,"version_id"?: string,"version_number": number
                  }
                  Update: {
                    "archived_at"?: string | null,"change_notes"?: string | null,"created_at"?: string,"created_by"?: string | null,"definition"?: NonNullable<Json>,"flow_id"?: string,"published_at"?: string | null,"published_by"?: string | null,"rolled_back_from_version_id"?: string | null,"status"?: string,"tenant_id"?: string,"trigger_events"?: (string)[] | null,"trigger_table"?: string | null,"trigger_type"?: string | null,"version_id"?: string,"version_number"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "versions_flow_fkey"
      columns: ["flow_id","tenant_id"]
isOneToOne: false
      referencedRelation: "flows"
      referencedColumns: ["flow_id","tenant_id"]
    },{
      foreignKeyName: "versions_rolled_back_from_fkey"
      columns: ["rolled_back_from_version_id","flow_id"]
isOneToOne: false
      referencedRelation: "versions"
      referencedColumns: ["version_id","flow_id"]
    }
                  ]
                },"watches": {
                  Row: {
                    "events": (string)[],"installed_at": string,"key_column": string | null,"row_filters": Json | null,"table_name": string
                  }
                  ComputedFields: never
                  Insert: {
                    "events": (string)[],"installed_at"?: string,"key_column"?: string | null,"row_filters"?: Json | null,"table_name": string
                  }
                  Update: {
                    "events"?: (string)[],"installed_at"?: string,"key_column"?: string | null,"row_filters"?: Json | null,"table_name"?: string
                  }
                  Relationships: [
                    
                  ]
                }
          }
          Views: {
            [_ in never]: never
          }
          Functions: {
            "archive_version":
{ Args: { "version_id": string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"assert_valid_definition":
{ Args: { "definition": Json }; Returns: undefined
                           },
"branch_problems":
{ Args: { "step": Json,"step_path": string }; Returns: Json
                           },
"can_see_tenant":
{ Args: { "tenant_id": string }; Returns: boolean
                           },
"cancel_sub_flow":
{ Args: { "p_execution": string,"p_owner": string,"p_parent": string }; Returns: undefined
                           },
"check_draft_definition":
{ Args: { "definition": Json }; Returns: undefined
                           },
"claim_executions":
{ Args: { "p_lease_ms": number,"p_limit": number,"p_owner": string }; Returns: {
              "attempt_count": number,
"call_depth": number,
"cancel_requested_at": string | null,
"cancel_requested_by": string | null,
"context": NonNullable<Json>,
"created_at": string,
"current_step_id": string | null,
"error_code": string | null,
"error_message": string | null,
"event_id": number | null,
"executed_by": string | null,
"execution_id": string,
"finished_at": string | null,
"flow_id": string,
"input": NonNullable<Json>,
"lease_expires_at": string | null,
"lease_owner": string | null,
"parent_attempt": number | null,
"parent_execution_id": string | null,
"parent_step_id": string | null,
"rerun_of_execution_id": string | null,
"result": Json | null,
"resume_at": string | null,
"source_event_id": number | null,
"started_at": string | null,
"status": string,
"step_count": number,
"subject": string | null,
"tenant_id": string,
"trigger_type": string,
"updated_at": string,
"version_id": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "executions"
        isOneToOne: false
        isSetofReturn: true
      } },
"clear_draining":
{ Args: Record<PropertyKey, never>; Returns: undefined
                           },
"create_draft":
{ Args: { "definition"?: Json,"flow_id": string,"from_version_id"?: string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"create_flow":
{ Args: { "description"?: string,"key": string,"name": string }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"cron_field_values":
{ Args: { "field": string,"max_value": number,"min_value": number,"names"?: (string)[] }; Returns: (number)[]
                           },
"cron_matches":
{ Args: { "cron": string,"local_time": string }; Returns: boolean
                           },
"current_member_role":
{ Args: Record<PropertyKey, never>; Returns: string
                           },
"current_tenant":
{ Args: Record<PropertyKey, never>; Returns: string
                           },
"default_tenant":
{ Args: Record<PropertyKey, never>; Returns: string
                           },
"delete_flow":
{ Args: { "flow_id": string }; Returns: undefined
                           },
"describe_problems":
{ Args: { "problems": Json }; Returns: string
                           },
"diff_versions":
{ Args: { "from_version_id": string,"to_version_id": string }; Returns: Json
                           },
"drain_lock_key":
{ Args: Record<PropertyKey, never>; Returns: number
                           },
"equals_row_filter":
{ Args: { "p_column": string,"p_kind": string,"p_raw": Json }; Returns: string
                           },
"fire_schedule":
{ Args: { "flow_id": string }; Returns: string
                           },
"import_v1":
{ Args: { "p_dry_run"?: boolean,"p_schema"?: string,"p_tenant_id"?: string }; Returns: Json
                           },
"is_reserved_table":
{ Args: { "table_name": string }; Returns: boolean
                           },
"is_trusted_caller":
{ Args: Record<PropertyKey, never>; Returns: boolean
                           },
"is_utc_zone":
{ Args: { "zone": string }; Returns: boolean
                           },
"json_changes":
{ Args: { "new_value": Json,"old_value": Json,"path"?: string }; Returns: Json
                           },
"json_type_matches":
{ Args: { "type_name": string,"value": Json }; Returns: boolean
                           },
"json_type_name":
{ Args: { "value": Json }; Returns: string
                           },
"locate_flow":
{ Args: { "flow_id": string }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"locate_version":
{ Args: { "version_id": string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"mark_draining":
{ Args: { "p_lease_ms": number }; Returns: undefined
                           },
"parameter_problems":
{ Args: { "path"?: string,"schema": Json,"value": Json }; Returns: Json
                           },
"prune_history":
{ Args: { "p_keep_events"?: string,"p_keep_responses"?: string }; Returns: undefined
                           },
"publish_version":
{ Args: { "change_notes"?: string,"version_id": string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"record_engine_writes":
{ Args: { "p_writes": Json }; Returns: {
              "attempt": number,"execution_id": string,"step_attempt_id": number,"step_id": string,"write_kind": string
            }[]
                           },
"refresh_schedule":
{ Args: { "flow_id": string }; Returns: undefined
                           },
"refresh_schedules":
{ Args: Record<PropertyKey, never>; Returns: undefined
                           },
"refresh_watches":
{ Args: Record<PropertyKey, never>; Returns: undefined
                           },
"request_cancel":
{ Args: { "execution_id": string }; Returns: {
              "attempt_count": number,
"call_depth": number,
"cancel_requested_at": string | null,
"cancel_requested_by": string | null,
"context": NonNullable<Json>,
"created_at": string,
"current_step_id": string | null,
"error_code": string | null,
"error_message": string | null,
"event_id": number | null,
"executed_by": string | null,
"execution_id": string,
"finished_at": string | null,
"flow_id": string,
"input": NonNullable<Json>,
"lease_expires_at": string | null,
"lease_owner": string | null,
"parent_attempt": number | null,
"parent_execution_id": string | null,
"parent_step_id": string | null,
"rerun_of_execution_id": string | null,
"result": Json | null,
"resume_at": string | null,
"source_event_id": number | null,
"started_at": string | null,
"status": string,
"step_count": number,
"subject": string | null,
"tenant_id": string,
"trigger_type": string,
"updated_at": string,
"version_id": string
            }
                          SetofOptions: {
        from: "*"
        to: "executions"
        isOneToOne: true
        isSetofReturn: false
      } },
"request_drain":
{ Args: { "p_force"?: boolean }; Returns: boolean
                           },
"require_role":
{ Args: { "action": string,"allowed_roles": (string)[] }; Returns: undefined
                           },
"rerun":
{ Args: { "execution_id": string,"from_step"?: string }; Returns: string
                           },
"rollback_to_version":
{ Args: { "change_notes"?: string,"flow_id": string,"version_id": string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"rotate_webhook_secret":
{ Args: { "flow_id": string }; Returns: string
                           },
"rule_row_filter":
{ Args: { "p_depth"?: number,"p_row": string,"p_rule": Json,"p_table": unknown }; Returns: Record<string, unknown>
                           },
"schedule_job_name":
{ Args: { "flow_id": string }; Returns: string
                           },
"set_flow_active":
{ Args: { "flow_id": string,"is_active": boolean }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"set_flow_concurrency":
{ Args: { "flow_id": string,"max_concurrency": number }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"set_flow_paused":
{ Args: { "flow_id": string,"is_paused": boolean }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"setup_cron":
{ Args: Record<PropertyKey, never>; Returns: undefined
                           },
"start_run":
{ Args: { "flow_key": string,"input"?: Json }; Returns: string
                           },
"start_sub_flow":
{ Args: { "p_attempt": number,"p_flow_key": string,"p_input"?: Json,"p_owner": string,"p_parent": string,"p_step_id": string }; Returns: {
              "attempt_count": number,
"call_depth": number,
"cancel_requested_at": string | null,
"cancel_requested_by": string | null,
"context": NonNullable<Json>,
"created_at": string,
"current_step_id": string | null,
"error_code": string | null,
"error_message": string | null,
"event_id": number | null,
"executed_by": string | null,
"execution_id": string,
"finished_at": string | null,
"flow_id": string,
"input": NonNullable<Json>,
"lease_expires_at": string | null,
"lease_owner": string | null,
"parent_attempt": number | null,
"parent_execution_id": string | null,
"parent_step_id": string | null,
"rerun_of_execution_id": string | null,
"result": Json | null,
"resume_at": string | null,
"source_event_id": number | null,
"started_at": string | null,
"status": string,
"step_count": number,
"subject": string | null,
"tenant_id": string,
"trigger_type": string,
"updated_at": string,
"version_id": string
            }[]
                          SetofOptions: {
        from: "*"
        to: "executions"
        isOneToOne: false
        isSetofReturn: true
      } },
"stop_sub_flows":
{ Args: { "p_execution_ids": (string)[],"p_message": string,"p_requested_at": string,"p_requested_by": string }; Returns: undefined
                           },
"take_rate_token":
{ Args: { "p_capacity": number,"p_destination": string,"p_rate_per_second": number }; Returns: number
                           },
"tick":
{ Args: Record<PropertyKey, never>; Returns: boolean
                           },
"trigger_problems":
{ Args: { "trigger_value": Json }; Returns: Json
                           },
"update_draft":
{ Args: { "change_notes"?: string,"definition": Json,"version_id": string }; Returns: {
              "archived_at": string | null,
"change_notes": string | null,
"created_at": string,
"created_by": string | null,
"definition": NonNullable<Json>,
"flow_id": string,
"published_at": string | null,
"published_by": string | null,
"rolled_back_from_version_id": string | null,
"status": string,
"tenant_id": string,
"trigger_events": (string)[] | null,
"trigger_table": string | null,
"trigger_type": string | null,
"version_id": string,
"version_number": number
            }
                          SetofOptions: {
        from: "*"
        to: "versions"
        isOneToOne: true
        isSetofReturn: false
      } },
"update_flow":
{ Args: { "description"?: string,"flow_id": string,"name"?: string }; Returns: {
              "created_at": string,
"created_by": string | null,
"description": string | null,
"flow_id": string,
"is_active": boolean,
"is_paused": boolean,
"key": string,
"max_concurrency": number | null,
"name": string,
"tenant_id": string,
"updated_at": string
            }
                          SetofOptions: {
        from: "*"
        to: "flows"
        isOneToOne: true
        isSetofReturn: false
      } },
"v1_convert":
{ Args: { "v1_actions": Json,"v1_flow": Json,"v1_rules": Json }; Returns: Json
                           },
"v1_convert_steps":
{ Args: { "v1_flow": Json }; Returns: Json
                           },
"v1_import_rules":
{ Args: { "p_dry_run"?: boolean,"p_schema"?: string,"p_tenant_id"?: string }; Returns: Json
                           },
"v1_import_steps":
{ Args: { "p_dry_run"?: boolean,"p_schema"?: string,"p_tenant_id"?: string }; Returns: Json
                           },
"v1_slug":
{ Args: { "fallback": string,"name": string }; Returns: string
                           },
"v1_unique_key":
{ Args: { "base_key": string,"taken": (string)[],"tenant_id": string }; Returns: string
                           },
"validate_definition":
{ Args: { "definition": Json }; Returns: Json
                           },
"webhook_secret_name":
{ Args: { "flow_id": string }; Returns: string
                           }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "flows">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "flows": {
          Enums: {
            
          }
        }
} as const
